/**
 * The run store: one SQLite database (better-sqlite3, WAL mode) that records
 * every experiment run — its config, seed, backend and status, metrics per step,
 * final metrics, artifact paths and checkpoints — next to a folder of files per
 * run (`<root>/<id>-<experiment>`).
 *
 * Every write is one transaction and is validated before it touches the
 * database, so bad input never overwrites anything. A process that dies
 * mid-run leaves its run `running`; {@link RunStore.markStaleRuns} turns such
 * runs into `interrupted`, and {@link RunStore.resumeRun} picks them up again
 * from {@link RunStore.latestCheckpoint}.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EccvkitInputError, check } from '../errors.js';
import { isPlainObject } from '../objects.js';
import { makeDirs, writeDirAtomic } from '../node/fs.js';
import { canonicalJson, hashConfig } from './hash.js';

/** Lifecycle of a run: `running` until finished or failed; `interrupted` when its process died. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted';

/** The statuses a run can have, in lifecycle order. */
export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'failed', 'interrupted'];

/** One run as stored. */
export interface RunRecord {
  /** Row id, increasing, never reused. */
  id: number;
  /** Experiment name (also part of the run folder's name). */
  experiment: string;
  /** Config preset the run started from (e.g. `quick`, `full`). */
  preset: string;
  /** The full validated config. */
  config: Record<string, unknown>;
  /** {@link hashConfig} of `config`. */
  configHash: string;
  /** Seed of the run's random generator. */
  seed: number;
  /** Tensor backend that ran it (`tensorflow`, `wasm`, `cpu`). */
  backend: string;
  /** Current status. */
  status: RunStatus;
  /** Process id of the process that owns (or owned) the run. */
  pid: number | null;
  /** ISO 8601 time the run was created. */
  startedAt: string;
  /** ISO 8601 time it finished or failed; `null` while running or interrupted. */
  finishedAt: string | null;
  /** Error message of a failed or interrupted run. */
  error: string | null;
  /** Absolute folder of this run's files. */
  dir: string;
}

/** One logged value of one metric at one step. */
export interface MetricPoint {
  step: number;
  name: string;
  value: number;
}

/** A file a run produced (a table, a sample grid, a model). */
export interface Artifact {
  name: string;
  /** Free-form kind, e.g. `json`, `png`, `npy`, `model`. */
  kind: string;
  /** Absolute path. */
  path: string;
  createdAt: string;
}

/** A resume point: a folder of files written at a training step. */
export interface Checkpoint {
  step: number;
  /** Absolute folder. */
  path: string;
  /** Caller's JSON metadata (e.g. optimizer step, RNG state). */
  meta: Record<string, unknown>;
  createdAt: string;
}

/** Where {@link RunStore.open} puts the database when no file is given (relative to the working folder). */
export const DEFAULT_STORE_PATH = 'runs/eccvkit.db';

/** How many checkpoints {@link RunStore.saveCheckpoint} keeps per run by default. */
export const DEFAULT_KEEP_CHECKPOINTS = 2;

/**
 * Schema migrations, in order; `PRAGMA user_version` counts those applied. Add
 * a new entry to change the schema; never edit a released one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment  TEXT NOT NULL,
    preset      TEXT NOT NULL,
    config      TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    backend     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
    pid         INTEGER,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    error       TEXT,
    dir         TEXT NOT NULL
  );
  CREATE INDEX runs_experiment ON runs (experiment, config_hash);
  CREATE INDEX runs_status ON runs (status);
  CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    step   INTEGER NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (run_id, name, step)
  );
  CREATE TABLE final_metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  NOT NULL, -- no type: BLOB affinity keeps numbers numbers and strings strings
    PRIMARY KEY (run_id, name)
  );
  CREATE TABLE artifacts (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    path       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
  );
  CREATE TABLE checkpoints (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    path       TEXT NOT NULL,
    meta       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (run_id, step)
  );
  `,
];

/** Tables a run store file may hold besides its own before eccvkit first migrates it: the hpo study storage's, and SQLite's own. */
const SHARED_TABLES: readonly string[] = ['studies', 'trials', 'trial_values', 'sqlite_sequence'];

/** Files up to this size get an integrity check (`PRAGMA quick_check`, well under a second) each time they are opened. */
const QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Refuses, before anything is written, a database that is not an eccvkit run
 * store (tables of its own and no eccvkit schema version), one whose schema
 * version has lost its tables, and (up to {@link QUICK_CHECK_MAX_BYTES}) one
 * whose pages are damaged.
 */
function checkStoreFile(db: Database.Database, abs: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
  // A fresh file, or one where only hpo studies live (they share the run store), is ours to migrate; anything else is someone else's database.
  const foreign = tables.filter((t) => !SHARED_TABLES.includes(t));
  if (version === 0 && foreign.length > 0) {
    throw new EccvkitInputError('--store', abs, `an eccvkit run store (this SQLite database holds other tables: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''})`);
  }
  if (version > 0 && version <= MIGRATIONS.length && !tables.includes('runs')) throw new EccvkitInputError('--store', abs, `an eccvkit run store (this one says schema version ${version} but has no runs table: it is damaged)`);
  if (tables.length > 0 && fs.statSync(abs).size <= QUICK_CHECK_MAX_BYTES) {
    const problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (problems.length > 0) throw new EccvkitInputError('--store', abs, `an SQLite run store file that is not damaged (integrity check: ${problems[0]}${problems.length > 1 ? `, and ${problems.length - 1} more problems` : ''})`);
  }
}

/** Milliseconds a writer waits for another process's lock before failing. */
const BUSY_TIMEOUT_MS = 10_000;

const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface RunRow {
  id: number;
  experiment: string;
  preset: string;
  config: string;
  config_hash: string;
  seed: number;
  backend: string;
  status: RunStatus;
  pid: number | null;
  started_at: string;
  finished_at: string | null;
  error: string | null;
  dir: string;
}

interface CheckpointRow {
  seq: number;
  step: number;
  path: string;
  meta: string;
  created_at: string;
}

function now(): string {
  return new Date().toISOString();
}

function checkNonEmptyString(value: unknown, argument: string): asserts value is string {
  check(typeof value === 'string' && value.length > 0, argument, value, 'a non-empty string');
}

function checkRunId(value: unknown): asserts value is number {
  check(Number.isSafeInteger(value) && (value as number) > 0, 'runId', value, 'a positive integer run id');
}

function checkStep(value: unknown): asserts value is number {
  check(Number.isSafeInteger(value) && (value as number) >= 0, 'step', value, 'a non-negative integer');
}

function checkStatus(value: unknown, argument: string): asserts value is RunStatus {
  check(RUN_STATUSES.includes(value as RunStatus), argument, value, `one of ${RUN_STATUSES.join(', ')}`);
}

/** True when a process with this id exists (also when it belongs to another user). */
function processAlive(pid: number | null): boolean {
  // pid 0 and negative pids address process groups in kill(2): never probe them.
  if (pid === null || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * A handle on one run database. Open it with {@link RunStore.open}; close it
 * with {@link RunStore.close}. Several processes may open the same file: WAL
 * mode lets readers run beside one writer, and writers wait up to 10 s for
 * each other.
 */
export class RunStore {
  /** Absolute path of the database file. */
  readonly file: string;
  /** Absolute folder holding the database and the run folders (`dirname(file)`). */
  readonly root: string;
  private readonly db: Database.Database;

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.root = path.dirname(file);
    this.db = db;
  }

  /**
   * Opens (creating if needed) the store at `file`, default
   * {@link DEFAULT_STORE_PATH} relative to the working folder. Creates the
   * parent folder, turns on WAL journaling, foreign keys and a busy timeout,
   * and applies any pending schema migrations (tracked in `PRAGMA user_version`).
   *
   * @throws {@link EccvkitInputError} when the file was written by a newer eccvkit (a schema version this one does not know)
   */
  static open(file: string = DEFAULT_STORE_PATH): RunStore {
    checkNonEmptyString(file, 'file');
    const abs = path.resolve(file);
    if (fs.existsSync(abs) && !fs.statSync(abs).isFile()) throw new EccvkitInputError('--store', abs, 'an SQLite run store file (this is a folder)');
    makeDirs(path.dirname(abs));
    let db: Database.Database;
    try {
      db = new Database(abs, { timeout: BUSY_TIMEOUT_MS });
    } catch (err) {
      throw new EccvkitInputError('--store', abs, `an SQLite run store file that can be opened (${err instanceof Error ? err.message : String(err)})`);
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Look before touching anything (WAL mode rewrites the header): someone else's database or a damaged file is refused unchanged.
      checkStoreFile(db, abs);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      // IMMEDIATE takes the write lock first, so two processes opening a fresh file do not both migrate.
      db.transaction(() => {
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > MIGRATIONS.length) {
          throw new EccvkitInputError('file', abs, `a run store of schema version ≤ ${MIGRATIONS.length} (this one is version ${version}, from a newer eccvkit)`);
        }
        for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string);
        if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
      }).immediate();
    } catch (err) {
      db.close();
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_NOTADB') throw new EccvkitInputError('--store', abs, 'an SQLite run store file (this file is not an SQLite database)');
      if (code === 'SQLITE_CORRUPT') throw new EccvkitInputError('--store', abs, `an SQLite run store file that is not damaged (${err instanceof Error ? err.message : String(err)})`);
      throw err;
    }
    return new RunStore(abs, db);
  }

  /** Schema version of the open database (`PRAGMA user_version`). */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Closes the database; further calls on this handle throw. Closing twice is harmless. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Records a new run with status `running`, owned by this process, and creates
   * its folder `<root>/<id>-<experiment>`.
   *
   * @param o.experiment name: letters, digits, `.`, `_`, `-`, at most 64 characters, starting with a letter or digit
   * @param o.config a plain JSON object (key order does not matter; see {@link hashConfig})
   * @param o.seed a safe integer
   * @throws {@link EccvkitInputError} on invalid input; nothing is written then
   */
  createRun(o: { experiment: string; preset: string; config: Record<string, unknown>; seed: number; backend: string }): RunRecord {
    check(o !== null && typeof o === 'object', 'run', o, 'an object { experiment, preset, config, seed, backend }');
    check(typeof o.experiment === 'string' && EXPERIMENT_NAME.test(o.experiment), 'experiment', o.experiment, 'a name of letters, digits, ".", "_" or "-" (at most 64, starting with a letter or digit)');
    checkNonEmptyString(o.preset, 'preset');
    checkNonEmptyString(o.backend, 'backend');
    check(Number.isSafeInteger(o.seed), 'seed', o.seed, 'a safe integer');
    check(isPlainObject(o.config), 'config', o.config, 'a plain object');
    const configJson = canonicalJson(o.config, 'config');
    const configHash = hashConfig(o.config);
    const id = this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO runs (experiment, preset, config, config_hash, seed, backend, status, pid, started_at, dir)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, '')`,
        )
        .run(o.experiment, o.preset, configJson, configHash, o.seed, o.backend, process.pid, now());
      const runId = Number(info.lastInsertRowid);
      const rel = `${runId}-${o.experiment}`;
      this.db.prepare('UPDATE runs SET dir = ? WHERE id = ?').run(rel, runId);
      // Inside the transaction: a folder that cannot be created rolls the row back.
      fs.mkdirSync(path.join(this.root, rel), { recursive: true });
      return runId;
    })();
    return this.getRun(id) as RunRecord;
  }

  /** The run with this id, or `undefined`. */
  getRun(id: number): RunRecord | undefined {
    checkRunId(id);
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && this.toRecord(row);
  }

  /** All runs, newest first, optionally only one experiment's and/or one status. */
  listRuns(filter: { experiment?: string; status?: RunStatus } = {}): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.experiment !== undefined) {
      checkNonEmptyString(filter.experiment, 'filter.experiment');
      where.push('experiment = ?');
      args.push(filter.experiment);
    }
    if (filter.status !== undefined) {
      checkStatus(filter.status, 'filter.status');
      where.push('status = ?');
      args.push(filter.status);
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC`;
    return (this.db.prepare(sql).all(...args) as RunRow[]).map((r) => this.toRecord(r));
  }

  /**
   * The newest run of `experiment` that matches the optional config hash and
   * status (or any of several statuses), or `undefined`. Used to skip a run
   * already finished with the same config, or to find one to resume.
   */
  findRun(q: { experiment: string; configHash?: string; status?: RunStatus | RunStatus[] }): RunRecord | undefined {
    checkNonEmptyString(q?.experiment, 'experiment');
    const where = ['experiment = ?'];
    const args: unknown[] = [q.experiment];
    if (q.configHash !== undefined) {
      checkNonEmptyString(q.configHash, 'configHash');
      where.push('config_hash = ?');
      args.push(q.configHash);
    }
    if (q.status !== undefined) {
      const statuses = Array.isArray(q.status) ? q.status : [q.status];
      check(statuses.length > 0, 'status', q.status, 'a status or a non-empty list of statuses');
      statuses.forEach((s, i) => checkStatus(s, `status[${i}]`));
      where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
      args.push(...statuses);
    }
    const row = this.db.prepare(`SELECT * FROM runs WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT 1`).get(...args) as RunRow | undefined;
    return row && this.toRecord(row);
  }

  /**
   * Logs metric values at `step`, in one transaction. Logging a name again at
   * the same step replaces the value (a resumed run may repeat steps).
   *
   * @throws {@link EccvkitInputError} for an unknown run, a bad step, an empty name or a non-finite value; nothing is written then
   */
  logMetrics(runId: number, step: number, values: Record<string, number>): void {
    this.requireRun(runId);
    checkStep(step);
    check(isPlainObject(values), 'values', values, 'an object of metric name → number');
    const entries = Object.entries(values);
    for (const [name, value] of entries) {
      check(name.length > 0, 'values', values, 'non-empty metric names');
      check(typeof value === 'number' && Number.isFinite(value), `values.${name}`, value, 'a finite number');
    }
    const insert = this.db.prepare('INSERT OR REPLACE INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const [name, value] of entries) insert.run(runId, name, step, value);
    })();
  }

  /** Logged values of one run (of one metric when `name` is given), ordered by step then name. */
  metrics(runId: number, name?: string): MetricPoint[] {
    checkRunId(runId);
    if (name !== undefined) {
      checkNonEmptyString(name, 'name');
      return this.db.prepare('SELECT step, name, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step').all(runId, name) as MetricPoint[];
    }
    return this.db.prepare('SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name').all(runId) as MetricPoint[];
  }

  /** Names of the metrics logged for a run, sorted. */
  metricNames(runId: number): string[] {
    checkRunId(runId);
    return (this.db.prepare('SELECT DISTINCT name FROM metrics WHERE run_id = ? ORDER BY name').all(runId) as Array<{ name: string }>).map((r) => r.name);
  }

  /**
   * Sets final metrics (numbers or strings), replacing values of the same name
   * and keeping the others, in one transaction.
   *
   * @throws {@link EccvkitInputError} for an unknown run, an empty name, a non-finite number or another type; nothing is written then
   */
  setFinalMetrics(runId: number, values: Record<string, number | string>): void {
    this.requireRun(runId);
    check(isPlainObject(values), 'values', values, 'an object of metric name → number or string');
    const entries = Object.entries(values);
    for (const [name, value] of entries) {
      check(name.length > 0, 'values', values, 'non-empty metric names');
      check((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string', `values.${name}`, value, 'a finite number or a string');
    }
    const upsert = this.db.prepare(
      'INSERT INTO final_metrics (run_id, name, value) VALUES (?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      for (const [name, value] of entries) upsert.run(runId, name, value);
    })();
  }

  /** Final metrics of a run, by name (sorted). */
  finalMetrics(runId: number): Record<string, number | string> {
    checkRunId(runId);
    const rows = this.db.prepare('SELECT name, value FROM final_metrics WHERE run_id = ? ORDER BY name').all(runId) as Array<{ name: string; value: number | string }>;
    const out: Record<string, number | string> = {};
    for (const r of rows) out[r.name] = r.value;
    return out;
  }

  /**
   * Records a file a run produced. The path is stored relative to the store's
   * root when it lies inside it (so the whole `runs/` folder can be moved), and
   * returned absolute. A second artifact with the same name replaces the first.
   */
  addArtifact(runId: number, a: { name: string; kind: string; path: string }): Artifact {
    this.requireRun(runId);
    check(a !== null && typeof a === 'object', 'artifact', a, 'an object { name, kind, path }');
    checkNonEmptyString(a.name, 'artifact.name');
    checkNonEmptyString(a.kind, 'artifact.kind');
    checkNonEmptyString(a.path, 'artifact.path');
    const createdAt = now();
    this.db
      .prepare(
        `INSERT INTO artifacts (run_id, name, kind, path, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, path = excluded.path, created_at = excluded.created_at`,
      )
      .run(runId, a.name, a.kind, this.storedPath(a.path), createdAt);
    return { name: a.name, kind: a.kind, path: path.resolve(a.path), createdAt };
  }

  /** Artifacts of a run, in the order they were first recorded. */
  artifacts(runId: number): Artifact[] {
    checkRunId(runId);
    const rows = this.db.prepare('SELECT name, kind, path, created_at FROM artifacts WHERE run_id = ? ORDER BY rowid').all(runId) as Array<{
      name: string;
      kind: string;
      path: string;
      created_at: string;
    }>;
    return rows.map((r) => ({ name: r.name, kind: r.kind, path: this.absolutePath(r.path), createdAt: r.created_at }));
  }

  /**
   * Saves a checkpoint: `write` fills a fresh temporary folder, which is then
   * renamed to `<run dir>/checkpoints/step-<step>` (replacing one of the same
   * step) and recorded in one transaction. Afterwards only the `keep` most
   * recently saved checkpoints stay; older rows are deleted and then their
   * folders. If `write` throws, its folder is removed and nothing is recorded.
   *
   * @param meta JSON metadata returned with the checkpoint (default `{}`)
   * @param keep how many checkpoints to keep, ≥ 1 (default {@link DEFAULT_KEEP_CHECKPOINTS} = 2)
   */
  async saveCheckpoint(
    runId: number,
    step: number,
    write: (dir: string) => Promise<void>,
    meta: Record<string, unknown> = {},
    keep: number = DEFAULT_KEEP_CHECKPOINTS,
  ): Promise<Checkpoint> {
    const run = this.requireRun(runId);
    checkStep(step);
    check(typeof write === 'function', 'write', write, 'a function (dir) => Promise<void>');
    check(isPlainObject(meta), 'meta', meta, 'a plain object');
    check(Number.isSafeInteger(keep) && keep >= 1, 'keep', keep, 'an integer ≥ 1');
    const metaJson = canonicalJson(meta, 'meta');
    const dir = path.join(run.dir, 'checkpoints', `step-${step}`);
    await writeDirAtomic(dir, write);
    const createdAt = now();
    let dropped: CheckpointRow[];
    try {
      dropped = this.db.transaction(() => {
        this.db.prepare('DELETE FROM checkpoints WHERE run_id = ? AND step = ?').run(runId, step);
        this.db
          .prepare('INSERT INTO checkpoints (run_id, step, path, meta, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(runId, step, this.storedPath(dir), metaJson, createdAt);
        const old = this.db.prepare('SELECT seq, step, path, meta, created_at FROM checkpoints WHERE run_id = ? ORDER BY seq DESC LIMIT -1 OFFSET ?').all(runId, keep) as CheckpointRow[];
        const del = this.db.prepare('DELETE FROM checkpoints WHERE seq = ?');
        for (const r of old) del.run(r.seq);
        return old;
      })();
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    for (const r of dropped) fs.rmSync(this.absolutePath(r.path), { recursive: true, force: true });
    return { step, path: dir, meta: JSON.parse(metaJson) as Record<string, unknown>, createdAt };
  }

  /** The most recently saved checkpoint of a run whose folder still exists, or `undefined`. */
  latestCheckpoint(runId: number): Checkpoint | undefined {
    checkRunId(runId);
    const rows = this.db.prepare('SELECT seq, step, path, meta, created_at FROM checkpoints WHERE run_id = ? ORDER BY seq DESC').all(runId) as CheckpointRow[];
    for (const r of rows) {
      const abs = this.absolutePath(r.path);
      if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) {
        return { step: r.step, path: abs, meta: JSON.parse(r.meta) as Record<string, unknown>, createdAt: r.created_at };
      }
    }
    return undefined;
  }

  /** Marks a run `finished` or `failed` (with an optional error message) and stamps its finish time. */
  finishRun(runId: number, status: 'finished' | 'failed', error?: string): void {
    this.requireRun(runId);
    check(status === 'finished' || status === 'failed', 'status', status, '"finished" or "failed"');
    check(error === undefined || typeof error === 'string', 'error', error, 'a string or undefined');
    this.db.prepare('UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE id = ?').run(status, now(), error ?? null, runId);
  }

  /**
   * Takes over a run to continue it: status back to `running`, owned by this
   * process, finish time and error cleared. Resume from
   * {@link RunStore.latestCheckpoint}.
   *
   * @throws {@link EccvkitInputError} when the run is unknown, already finished, or still running in another live process
   */
  resumeRun(runId: number): RunRecord {
    return this.db.transaction(() => {
      const run = this.requireRun(runId);
      check(run.status !== 'finished', 'runId', runId, 'a run that is not finished (this one finished; start a new run instead)');
      check(
        run.status !== 'running' || run.pid === process.pid || !processAlive(run.pid),
        'runId',
        runId,
        `a run no other live process owns (process ${run.pid} is still running it)`,
      );
      this.db.prepare("UPDATE runs SET status = 'running', pid = ?, finished_at = NULL, error = NULL WHERE id = ?").run(process.pid, runId);
      return this.getRun(runId) as RunRecord;
    }).immediate();
  }

  /**
   * Finds runs still marked `running` whose process no longer exists (killed,
   * crashed, machine rebooted), marks them `interrupted` and returns them. A
   * process that exists but belongs to another user counts as alive. Process
   * ids can be reused by the system, so a long-dead run may look alive until
   * that id is free again.
   */
  markStaleRuns(): RunRecord[] {
    return this.db.transaction(() => {
      const running = this.db.prepare("SELECT * FROM runs WHERE status = 'running' ORDER BY id").all() as RunRow[];
      const stale = running.filter((r) => !processAlive(r.pid));
      const mark = this.db.prepare("UPDATE runs SET status = 'interrupted', error = ? WHERE id = ? AND status = 'running'");
      for (const r of stale) mark.run(r.pid === null ? 'owning process unknown' : `process ${r.pid} ended before the run finished`, r.id);
      return stale.map((r) => this.getRun(r.id) as RunRecord);
    }).immediate();
  }

  private requireRun(runId: number): RunRecord {
    const run = this.getRun(runId);
    if (!run) throw new EccvkitInputError('runId', runId, `the id of a run in ${this.file}`);
    return run;
  }

  private toRecord(r: RunRow): RunRecord {
    return {
      id: r.id,
      experiment: r.experiment,
      preset: r.preset,
      config: JSON.parse(r.config) as Record<string, unknown>,
      configHash: r.config_hash,
      seed: r.seed,
      backend: r.backend,
      status: r.status,
      pid: r.pid,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      error: r.error,
      dir: this.absolutePath(r.dir),
    };
  }

  /** Relative to the root when inside it, absolute otherwise. */
  private storedPath(p: string): string {
    const abs = path.resolve(p);
    const rel = path.relative(this.root, abs);
    const outside = rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
    return outside ? abs : rel;
  }

  private absolutePath(stored: string): string {
    return path.resolve(this.root, stored);
  }
}
