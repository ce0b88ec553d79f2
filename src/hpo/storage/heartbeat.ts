/**
 * Heartbeats from a worker thread with its own database connection, so a
 * trial whose objective keeps the event loop busy (synchronous training) still
 * looks alive; a missed heartbeat would get a live trial reaped and run twice.
 * Node only.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { NOW_EPOCH, type Heartbeater } from './sql.js';

const require = createRequire(import.meta.url);

/** What the heartbeat thread needs to open its own connection. */
export interface HeartbeatTarget {
  dialect: 'sqlite' | 'postgres';
  /** SQLite file or PostgreSQL connection string. */
  target: string;
  intervalMs: number;
}

/**
 * The thread's code: plain CommonJS run with `eval`, so it starts the same
 * from the TypeScript sources and from the build (a `.ts` thread entry would
 * need the tsx loader inside the thread). The driver is loaded by absolute path.
 */
const THREAD_CODE = `
const { parentPort, workerData: t } = require('node:worker_threads');
const active = new Map();
let beat;
const ready = (async () => {
  if (t.dialect === 'sqlite') {
    const Database = require(t.driver);
    const db = new Database(t.target, { timeout: 10000 });
    db.pragma('busy_timeout = 10000');
    const stmt = db.prepare(t.sql);
    beat = async (id, worker) => { stmt.run(id, worker); };
  } else {
    const pg = require(t.driver);
    const client = new pg.Client({ connectionString: t.target });
    client.on('error', (err) => parentPort.postMessage({ error: err.message }));
    await client.connect();
    const text = t.sql.replace('?', '$1').replace('?', '$2');
    beat = async (id, worker) => { await client.query(text, [id, worker]); };
  }
})().catch((err) => parentPort.postMessage({ error: String(err && err.message || err) }));
let busy = false;
async function beatAll() {
  await ready;
  // One round at a time: a connection runs one query at once.
  if (!beat || busy) return;
  busy = true;
  try {
    for (const [id, worker] of active) {
      try { await beat(id, worker); } catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
    }
  } finally { busy = false; }
}
parentPort.on('message', (m) => {
  if (m.op === 'start') { active.set(m.id, m.worker); void beatAll(); }
  else active.delete(m.id);
});
setInterval(() => void beatAll(), t.intervalMs);
`;

/** Starts the heartbeat thread lazily, on the first running trial; it never keeps the process alive. */
export class ThreadHeartbeater implements Heartbeater {
  private worker: Worker | null = null;
  private failure: string | null = null;

  constructor(private readonly t: HeartbeatTarget) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    const workerData = {
      ...this.t,
      driver: require.resolve(this.t.dialect === 'sqlite' ? 'better-sqlite3' : 'pg'),
      sql: `UPDATE trials SET heartbeat = ${NOW_EPOCH[this.t.dialect]} WHERE id = ? AND worker = ? AND state = 'RUNNING'`,
    };
    // execArgv: [] so loaders of the parent (tsx) are not started again in the thread.
    const w = new Worker(THREAD_CODE, { eval: true, workerData, execArgv: [] });
    w.unref();
    w.on('message', (m: { error?: string }) => {
      if (m.error) this.failure = m.error;
    });
    w.on('error', (err) => {
      this.failure = err.message;
    });
    this.worker = w;
    return w;
  }

  /** The last error the thread met (a lost connection, say), or null. */
  get lastError(): string | null {
    return this.failure;
  }

  start(trialId: number, worker: string): () => void {
    const w = this.thread();
    w.postMessage({ op: 'start', id: trialId, worker });
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      w.postMessage({ op: 'stop', id: trialId });
    };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

/** A worker id naming where a trial runs: `host:pid:tag` (tag: 6 hex digits, so two studies in one process differ). */
export function nodeWorkerId(): string {
  const a = new Uint32Array(1);
  globalThis.crypto.getRandomValues(a);
  return `${os.hostname()}:${process.pid}:${((a[0] as number) & 0xffffff).toString(16).padStart(6, '0')}`;
}
