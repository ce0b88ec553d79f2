/**
 * The heartbeat thread (see heartbeat.ts): refreshes `trials.heartbeat` of
 * the trials it was told about, every interval, on its own connection. Node only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HeartbeatTarget } from './heartbeat.js';
import { NOW_EPOCH } from './sql.js';

const t = workerData as HeartbeatTarget;
const active = new Map<number, string>();
const sql = `UPDATE trials SET heartbeat = ${NOW_EPOCH[t.dialect]} WHERE id = ? AND worker = ? AND state = 'RUNNING'`;
let beat: (id: number, worker: string) => Promise<void>;

if (t.dialect === 'sqlite') {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(t.target, { timeout: 10_000 });
  db.pragma('busy_timeout = 10000');
  const stmt = db.prepare(sql);
  beat = async (id, worker) => {
    stmt.run(id, worker);
  };
} else {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: t.target });
  client.on('error', (err) => parentPort?.postMessage({ error: err.message }));
  await client.connect();
  const text = sql.replace('?', '$1').replace('?', '$2');
  beat = async (id, worker) => {
    await client.query(text, [id, worker]);
  };
}

async function beatAll(): Promise<void> {
  for (const [id, worker] of active) {
    try {
      await beat(id, worker);
    } catch (err) {
      parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
    }
  }
}

parentPort?.on('message', (m: { op: 'start' | 'stop'; id: number; worker?: string }) => {
  if (m.op === 'start') {
    active.set(m.id, m.worker as string);
    void beatAll();
  } else active.delete(m.id);
});

setInterval(() => void beatAll(), t.intervalMs);
