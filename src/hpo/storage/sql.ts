/**
 * The study storage on a SQL database, one implementation for SQLite and
 * PostgreSQL (same schema, `?` placeholders rewritten for PostgreSQL). Three
 * tables beside the run store's: `studies`, `trials` (parameters,
 * distributions and attributes as JSON text; state, owner, heartbeat on the
 * database clock) and `trial_values` (intermediate values by step).
 *
 * Claiming a waiting trial is one `UPDATE … WHERE id = (SELECT … LIMIT 1)`
 * (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never queue on a
 * row another one holds); a new trial's number is taken under the study's row
 * lock (PostgreSQL) or the database write lock (SQLite `BEGIN IMMEDIATE`);
 * every write to a trial is guarded by (id, worker, state = RUNNING).
 */
import { EccvkitInputError } from '../../errors.js';
import { parseDistribution, type Distribution, type ParamValue } from '../distributions.js';
import { checkStudyName, directionMismatch, TrialNotHeldError, type FinishedState, type StudyStorage } from '../storage.js';
import { STUDY_DIRECTIONS, type FrozenTrial, type StudyDirection, type StudyRecord, type TrialState } from '../types.js';

/** The statements a connection runs (`?` placeholders). */
export interface SqlConn {
  all<T>(sql: string, args?: unknown[]): Promise<T[]>;
  /** Runs a statement; returns how many rows it changed. */
  run(sql: string, args?: unknown[]): Promise<number>;
}

/** A database the SQL storage runs on. */
export interface SqlDb extends SqlConn {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `fn` in one write transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: retried on deadlock). */
  transaction<T>(fn: (c: SqlConn) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Background heartbeats of running trials (a thread the objective cannot block). */
export interface Heartbeater {
  start(trialId: number, worker: string): () => void;
  close(): Promise<void>;
}

/** The database clock in seconds since 1970, per dialect. */
export const NOW_EPOCH = {
  sqlite: "((julianday('now') - 2440587.5) * 86400.0)",
  postgres: 'extract(epoch from clock_timestamp())::double precision',
} as const;

/** The schema, per dialect (idempotent: every statement is IF NOT EXISTS). */
export function schema(dialect: 'sqlite' | 'postgres'): string[] {
  const id = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'SERIAL PRIMARY KEY';
  return [
    `CREATE TABLE IF NOT EXISTS studies (
      id         ${id},
      name       TEXT NOT NULL UNIQUE,
      direction  TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
      created_at TEXT NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS trials (
      id           ${id},
      study_id     INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
      number       INTEGER NOT NULL,
      state        TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
      value        DOUBLE PRECISION,
      params       TEXT NOT NULL DEFAULT '{}',
      distributions TEXT NOT NULL DEFAULT '{}',
      user_attrs   TEXT NOT NULL DEFAULT '{}',
      system_attrs TEXT NOT NULL DEFAULT '{}',
      worker       TEXT,
      heartbeat    DOUBLE PRECISION,
      started_at   TEXT,
      finished_at  TEXT,
      error        TEXT,
      retry_of     INTEGER,
      retries      INTEGER NOT NULL DEFAULT 0,
      UNIQUE (study_id, number)
    )`,
    'CREATE INDEX IF NOT EXISTS trials_study_state ON trials (study_id, state)',
    `CREATE TABLE IF NOT EXISTS trial_values (
      trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
      step     INTEGER NOT NULL,
      value    DOUBLE PRECISION, -- NULL stands for NaN (SQLite stores NaN as NULL)
      PRIMARY KEY (trial_id, step)
    )`,
  ];
}

interface TrialRow {
  id: number;
  study_id: number;
  number: number;
  state: TrialState;
  value: number | null;
  params: string;
  distributions: string;
  user_attrs: string;
  system_attrs: string;
  worker: string | null;
  heartbeat_age: number | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  retry_of: number | null;
  retries: number;
}

interface StudyRow {
  id: number;
  name: string;
  direction: StudyDirection;
  created_at: string;
}

function nowIso(): string {
  return new Date().toISOString();
}

function json(text: string, where: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new EccvkitInputError(where, text, 'JSON text (the storage row is corrupt)');
  }
}

/** Options of {@link SqlStudyStorage}. */
export interface SqlStorageOptions {
  /** For messages: a file or a URL without password. */
  description: string;
  /** Seconds between heartbeats of a running trial (default 5). */
  heartbeatIntervalS?: number;
  /** Seconds a heartbeat may lag before the trial is reaped (default 2 × the interval, as Optuna). */
  gracePeriodS?: number;
  /** Times a reaped trial is re-queued (default 3). */
  maxRetries?: number;
  /** Worker ids for studies given none. */
  workerId?: () => string;
}

/** A {@link StudyStorage} on a {@link SqlDb}. Use `openStudyStorage` (or the SQLite / PostgreSQL openers) rather than this constructor. */
export class SqlStudyStorage implements StudyStorage {
  readonly description: string;
  readonly shared = true;
  readonly heartbeatIntervalS: number;
  readonly gracePeriodS: number;
  readonly maxRetries: number;
  private readonly now: string;

  constructor(
    private readonly db: SqlDb,
    private readonly heart: Heartbeater,
    o: SqlStorageOptions,
  ) {
    this.description = o.description;
    this.heartbeatIntervalS = o.heartbeatIntervalS ?? 5;
    this.gracePeriodS = o.gracePeriodS ?? 2 * this.heartbeatIntervalS;
    this.maxRetries = o.maxRetries ?? 3;
    this.now = NOW_EPOCH[db.dialect];
    if (o.workerId) this.defaultWorkerId = o.workerId;
  }

  /** A worker id for this process (set by the Node openers). */
  defaultWorkerId?: () => string;

  /** Creates the tables when absent (concurrent openers are safe). */
  static async migrate(db: SqlDb): Promise<void> {
    await db.transaction(async (c) => {
      // PostgreSQL's IF NOT EXISTS races between sessions; a transaction-level advisory lock serialises them.
      if (db.dialect === 'postgres') await c.all('SELECT pg_advisory_xact_lock(727020)');
      for (const s of schema(db.dialect)) await c.run(s);
    });
  }

  async getOrCreateStudy(name: string, direction: StudyDirection): Promise<StudyRecord> {
    checkStudyName(name);
    if (!STUDY_DIRECTIONS.includes(direction)) throw new EccvkitInputError('direction', direction, `one of ${STUDY_DIRECTIONS.join(', ')}`);
    await this.db.run('INSERT INTO studies (name, direction, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [name, direction, nowIso()]);
    const s = (await this.findStudy(name)) as StudyRecord;
    if (s.direction !== direction) throw directionMismatch(name, s.direction, direction);
    return s;
  }

  async findStudy(name: string): Promise<StudyRecord | undefined> {
    const [r] = await this.db.all<StudyRow>('SELECT id, name, direction, created_at FROM studies WHERE name = ?', [name]);
    return r && { id: r.id, name: r.name, direction: r.direction, createdAt: r.created_at };
  }

  async listStudies(): Promise<StudyRecord[]> {
    const rows = await this.db.all<StudyRow>('SELECT id, name, direction, created_at FROM studies ORDER BY id');
    return rows.map((r) => ({ id: r.id, name: r.name, direction: r.direction, createdAt: r.created_at }));
  }

  private selectTrials(where: string): string {
    return `SELECT id, study_id, number, state, value, params, distributions, user_attrs, system_attrs, worker,
                   CASE WHEN state = 'RUNNING' THEN ${this.now} - heartbeat END AS heartbeat_age,
                   started_at, finished_at, error, retry_of, retries
            FROM trials WHERE ${where}`;
  }

  private toFrozen(r: TrialRow, values: Array<{ step: number; value: number | null }>): FrozenTrial {
    const where = `trial ${r.number}`;
    const dists = json(r.distributions, `${where} distributions`);
    const distributions: Record<string, Distribution> = {};
    for (const [k, d] of Object.entries(dists)) distributions[k] = parseDistribution(d, `${where} distribution of "${k}"`);
    return {
      id: r.id,
      number: r.number,
      state: r.state,
      value: r.value,
      params: json(r.params, `${where} params`) as Record<string, ParamValue>,
      distributions,
      intermediateValues: values.map((v) => ({ step: v.step, value: v.value === null ? NaN : v.value })),
      worker: r.worker,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      heartbeatAgeS: r.heartbeat_age === null ? null : Math.max(0, r.heartbeat_age),
      error: r.error,
      retryOf: r.retry_of,
      retries: r.retries,
      userAttrs: json(r.user_attrs, `${where} user_attrs`),
      systemAttrs: json(r.system_attrs, `${where} system_attrs`),
    };
  }

  private async trial(id: number, c: SqlConn = this.db): Promise<FrozenTrial> {
    const [r] = await c.all<TrialRow>(this.selectTrials('id = ?'), [id]);
    if (!r) throw new EccvkitInputError('trialId', id, `the id of a trial in ${this.description}`);
    const values = await c.all<{ step: number; value: number | null }>('SELECT step, value FROM trial_values WHERE trial_id = ? ORDER BY step', [id]);
    return this.toFrozen(r, values);
  }

  async claimTrial(studyId: number, worker: string, budget: number | null): Promise<FrozenTrial | null> {
    const skip = this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const claimed = await this.db.all<{ id: number }>(
      `UPDATE trials SET state = 'RUNNING', worker = ?, heartbeat = ${this.now}, started_at = ?
       WHERE id = (SELECT id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY id LIMIT 1${skip}) AND state = 'WAITING'
       RETURNING id`,
      [worker, nowIso(), studyId],
    );
    if (claimed[0]) return this.trial(claimed[0].id);
    const id = await this.db.transaction(async (c) => {
      if (this.db.dialect === 'postgres') await c.all('SELECT id FROM studies WHERE id = ? FOR UPDATE', [studyId]);
      if (budget !== null) {
        const [n] = await c.all<{ n: number }>(
          `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM trials t WHERE t.study_id = ?
           AND NOT EXISTS (SELECT 1 FROM trials r WHERE r.study_id = t.study_id AND r.retry_of = t.number)`,
          [studyId],
        );
        if ((n?.n ?? 0) >= budget) return null;
      }
      const [next] = await c.all<{ n: number }>('SELECT CAST(COALESCE(MAX(number), -1) + 1 AS INTEGER) AS n FROM trials WHERE study_id = ?', [studyId]);
      const [row] = await c.all<{ id: number }>(
        `INSERT INTO trials (study_id, number, state, worker, heartbeat, started_at) VALUES (?, ?, 'RUNNING', ?, ${this.now}, ?) RETURNING id`,
        [studyId, next?.n ?? 0, worker, nowIso()],
      );
      return (row as { id: number }).id;
    });
    return id === null ? null : this.trial(id);
  }

  async enqueueTrial(studyId: number, params: Record<string, ParamValue>, userAttrs: Record<string, unknown> = {}): Promise<FrozenTrial> {
    const id = await this.db.transaction(async (c) => {
      if (this.db.dialect === 'postgres') await c.all('SELECT id FROM studies WHERE id = ? FOR UPDATE', [studyId]);
      const [next] = await c.all<{ n: number }>('SELECT CAST(COALESCE(MAX(number), -1) + 1 AS INTEGER) AS n FROM trials WHERE study_id = ?', [studyId]);
      const [row] = await c.all<{ id: number }>(`INSERT INTO trials (study_id, number, state, params, user_attrs) VALUES (?, ?, 'WAITING', ?, ?) RETURNING id`, [
        studyId,
        next?.n ?? 0,
        JSON.stringify(params),
        JSON.stringify(userAttrs),
      ]);
      return (row as { id: number }).id;
    });
    return this.trial(id);
  }

  private async notHeld(trialId: number, worker: string): Promise<never> {
    const [r] = await this.db.all<{ number: number }>('SELECT number FROM trials WHERE id = ?', [trialId]);
    if (!r) throw new EccvkitInputError('trialId', trialId, `the id of a trial in ${this.description}`);
    throw new TrialNotHeldError(r.number, worker);
  }

  async setParams(trialId: number, worker: string, params: Record<string, ParamValue>, distributions: Record<string, Distribution>): Promise<void> {
    const n = await this.db.run("UPDATE trials SET params = ?, distributions = ? WHERE id = ? AND worker = ? AND state = 'RUNNING'", [
      JSON.stringify(params),
      JSON.stringify(distributions),
      trialId,
      worker,
    ]);
    if (n === 0) await this.notHeld(trialId, worker);
  }

  async setAttrs(trialId: number, worker: string, userAttrs: Record<string, unknown>, systemAttrs: Record<string, unknown>): Promise<void> {
    const n = await this.db.run("UPDATE trials SET user_attrs = ?, system_attrs = ? WHERE id = ? AND worker = ? AND state = 'RUNNING'", [
      JSON.stringify(userAttrs),
      JSON.stringify(systemAttrs),
      trialId,
      worker,
    ]);
    if (n === 0) await this.notHeld(trialId, worker);
  }

  async reportValue(trialId: number, worker: string, step: number, value: number): Promise<void> {
    const n = await this.db.run(
      `INSERT INTO trial_values (trial_id, step, value)
       SELECT id, ?, ? FROM trials WHERE id = ? AND worker = ? AND state = 'RUNNING'
       ON CONFLICT (trial_id, step) DO UPDATE SET value = excluded.value`,
      [step, Number.isNaN(value) ? null : value, trialId, worker],
    );
    if (n === 0) await this.notHeld(trialId, worker);
  }

  async finishTrial(trialId: number, worker: string, state: FinishedState, value: number | null, error: string | null): Promise<FrozenTrial> {
    const n = await this.db.run("UPDATE trials SET state = ?, value = ?, error = ?, finished_at = ? WHERE id = ? AND worker = ? AND state = 'RUNNING'", [
      state,
      state === 'COMPLETE' ? value : null,
      error,
      nowIso(),
      trialId,
      worker,
    ]);
    if (n === 0) await this.notHeld(trialId, worker);
    return this.trial(trialId);
  }

  async getTrials(studyId: number): Promise<FrozenTrial[]> {
    const rows = await this.db.all<TrialRow>(this.selectTrials('study_id = ?') + ' ORDER BY number', [studyId]);
    const values = await this.db.all<{ trial_id: number; step: number; value: number | null }>(
      'SELECT v.trial_id, v.step, v.value FROM trial_values v JOIN trials t ON t.id = v.trial_id WHERE t.study_id = ? ORDER BY v.trial_id, v.step',
      [studyId],
    );
    const byTrial = new Map<number, Array<{ step: number; value: number | null }>>();
    for (const v of values) {
      let list = byTrial.get(v.trial_id);
      if (!list) byTrial.set(v.trial_id, (list = []));
      list.push(v);
    }
    return rows.map((r) => this.toFrozen(r, byTrial.get(r.id) ?? []));
  }

  startHeartbeat(trialId: number, worker: string): () => void {
    return this.heart.start(trialId, worker);
  }

  async reapStale(studyId: number): Promise<FrozenTrial[]> {
    const staleWhere = `study_id = ? AND state = 'RUNNING' AND heartbeat < ${this.now} - ?`;
    const any = await this.db.all(`SELECT id FROM trials WHERE ${staleWhere} LIMIT 1`, [studyId, this.gracePeriodS]);
    if (any.length === 0) return [];
    const ids = await this.db.transaction(async (c) => {
      if (this.db.dialect === 'postgres') await c.all('SELECT id FROM studies WHERE id = ? FOR UPDATE', [studyId]);
      const stale = await c.all<TrialRow>(this.selectTrials(staleWhere) + ' ORDER BY number', [studyId, this.gracePeriodS]);
      const out: number[] = [];
      for (const t of stale) {
        const age = Math.round((t.heartbeat_age ?? 0) * 10) / 10;
        const changed = await c.run("UPDATE trials SET state = 'FAIL', finished_at = ?, error = ? WHERE id = ? AND state = 'RUNNING'", [
          nowIso(),
          `worker ${t.worker} stopped heartbeating (last heartbeat ${age} s ago, grace ${this.gracePeriodS} s)${t.retries < this.maxRetries ? '; re-queued with the same parameters' : `; not re-queued (retried ${t.retries} times already)`}`,
          t.id,
        ]);
        if (changed === 0) continue;
        out.push(t.id);
        if (t.retries >= this.maxRetries) continue;
        const [next] = await c.all<{ n: number }>('SELECT CAST(COALESCE(MAX(number), -1) + 1 AS INTEGER) AS n FROM trials WHERE study_id = ?', [studyId]);
        await c.run(
          `INSERT INTO trials (study_id, number, state, params, distributions, user_attrs, system_attrs, retry_of, retries)
           VALUES (?, ?, 'WAITING', ?, ?, ?, ?, ?, ?)`,
          [studyId, next?.n ?? 0, t.params, t.distributions, t.user_attrs, t.system_attrs, t.number, t.retries + 1],
        );
      }
      return out;
    });
    const reaped: FrozenTrial[] = [];
    for (const id of ids) reaped.push(await this.trial(id));
    return reaped;
  }

  async close(): Promise<void> {
    await this.heart.close();
    await this.db.close();
  }
}
