/**
 * The PostgreSQL study storage (npm `pg`), for workers on several machines:
 * the same schema as the SQLite one; waiting trials are claimed with
 * `FOR UPDATE SKIP LOCKED`, new trial numbers are taken under the study's
 * row lock, heartbeats use the server's clock. eccvkit runs no server of its
 * own: the database coordinates. Node only.
 */
import pg from 'pg';
import { EccvkitInputError } from '../../errors.js';
import { nodeWorkerId, ThreadHeartbeater } from './heartbeat.js';
import { SqlStudyStorage, type SqlConn, type SqlDb, type SqlStorageOptions } from './sql.js';

/** `?` placeholders → `$1, $2, …` (the storage's SQL has no `?` inside literals). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function conn(q: { query: (text: string, values?: unknown[]) => Promise<pg.QueryResult> }): SqlConn {
  return {
    all: async <T>(sql: string, args: unknown[] = []) => (await q.query(numbered(sql), args)).rows as T[],
    run: async (sql: string, args: unknown[] = []) => (await q.query(numbered(sql), args)).rowCount ?? 0,
  };
}

/** Deadlock and serialization failures: the transaction is retried. */
const RETRY_CODES = new Set(['40P01', '40001']);

class PostgresDb implements SqlDb {
  readonly dialect = 'postgres';
  private readonly c: SqlConn;
  constructor(private readonly pool: pg.Pool) {
    this.c = conn(pool);
  }
  all<T>(sql: string, args?: unknown[]): Promise<T[]> {
    return this.c.all<T>(sql, args);
  }
  run(sql: string, args?: unknown[]): Promise<number> {
    return this.c.run(sql, args);
  }
  async transaction<T>(fn: (c: SqlConn) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(conn(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (attempt < 5 && RETRY_CODES.has((err as { code?: string }).code ?? '')) continue;
        throw err;
      } finally {
        client.release();
      }
    }
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/**
 * Connects to the PostgreSQL database at `url` (`postgres://user[:password]@host[:port]/db`)
 * and creates the tables when absent.
 *
 * @param o as {@link openSqliteStudyStorage}'s: heartbeat interval (5 s), grace period (2 × interval), retries (3)
 * @throws {@link EccvkitInputError} naming the host and port when the server cannot be reached or refuses the login
 */
export async function openPostgresStudyStorage(url: string, o: Omit<SqlStorageOptions, 'description'> = {}): Promise<SqlStudyStorage> {
  const shown = redactUrl(url);
  let host = '127.0.0.1';
  let port = '5432';
  try {
    const u = new URL(url);
    host = u.hostname || (u.searchParams.get('host') ?? 'localhost');
    port = u.port || '5432';
  } catch {
    throw new EccvkitInputError('--storage', shown, 'a URL postgres://user[:password]@host[:port]/database');
  }
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
  // An idle client whose server went away must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const db = new PostgresDb(pool);
  try {
    await SqlStudyStorage.migrate(db);
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = err as { code?: string; message?: string };
    throw new EccvkitInputError('--storage', shown, `a PostgreSQL server accepting connections at host ${host} port ${port} (${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)})`);
  }
  const intervalS = o.heartbeatIntervalS ?? 5;
  return new SqlStudyStorage(db, new ThreadHeartbeater({ dialect: 'postgres', target: url, intervalMs: intervalS * 1000 }), { workerId: nodeWorkerId, ...o, description: shown });
}
