/**
 * The SQLite study storage: the run store's database file (default
 * `runs/eccvkit.db`), with the `studies`, `trials` and `trial_values` tables
 * beside the runs; WAL journaling, `BEGIN IMMEDIATE` write transactions and a
 * 10 s busy timeout, so several processes on one machine share a study.
 * Not for several machines (SQLite has no row locks and breaks on network
 * file systems): use PostgreSQL there. Node only.
 */
import Database from 'better-sqlite3';
import { DEFAULT_STORE_PATH, RunStore } from '../../store/index.js';
import { nodeWorkerId, ThreadHeartbeater } from './heartbeat.js';
import { SqlStudyStorage, type SqlConn, type SqlDb, type SqlStorageOptions } from './sql.js';

const BUSY_TIMEOUT_MS = 10_000;

class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite';
  /** Every statement of this handle runs in turn, so an async transaction never interleaves with another call. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly raw: SqlConn;

  constructor(private readonly db: Database.Database) {
    this.raw = {
      all: async <T>(sql: string, args: unknown[] = []) => db.prepare(sql).all(...args) as T[],
      run: async (sql: string, args: unknown[] = []) => db.prepare(sql).run(...args).changes,
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  all<T>(sql: string, args?: unknown[]): Promise<T[]> {
    return this.serial(() => this.raw.all<T>(sql, args));
  }

  run(sql: string, args?: unknown[]): Promise<number> {
    return this.serial(() => this.raw.run(sql, args));
  }

  transaction<T>(fn: (c: SqlConn) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.raw);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.db.open) this.db.close();
  }
}

/**
 * Opens the study storage in the run store at `file` (created when absent,
 * run-store schema applied first so the file stays a valid run store).
 *
 * @param o.heartbeatIntervalS seconds between heartbeats of a running trial (default 5)
 * @param o.gracePeriodS a running trial whose heartbeat is older is failed and re-queued (default 2 × interval)
 * @param o.maxRetries times a reaped trial is re-queued (default 3)
 * @throws {@link EccvkitInputError} when the file is a folder, not SQLite, or from a newer eccvkit
 */
export async function openSqliteStudyStorage(file: string = DEFAULT_STORE_PATH, o: Omit<SqlStorageOptions, 'description'> = {}): Promise<SqlStudyStorage> {
  const store = RunStore.open(file);
  const abs = store.file;
  store.close();
  const db = new Database(abs, { timeout: BUSY_TIMEOUT_MS });
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const sql = new SqliteDb(db);
  try {
    await SqlStudyStorage.migrate(sql);
  } catch (err) {
    await sql.close();
    throw err;
  }
  const intervalS = o.heartbeatIntervalS ?? 5;
  return new SqlStudyStorage(sql, new ThreadHeartbeater({ dialect: 'sqlite', target: abs, intervalMs: intervalS * 1000 }), { workerId: nodeWorkerId, ...o, description: abs });
}
