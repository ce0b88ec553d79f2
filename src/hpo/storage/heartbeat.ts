/**
 * Heartbeats from a worker thread with its own database connection, so a
 * trial whose objective keeps the event loop busy (synchronous training) still
 * looks alive; a missed heartbeat would get a live trial reaped and run twice.
 * Node only.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Heartbeater } from './sql.js';

/** What the heartbeat thread needs to open its own connection. */
export interface HeartbeatTarget {
  dialect: 'sqlite' | 'postgres';
  /** SQLite file or PostgreSQL connection string. */
  target: string;
  intervalMs: number;
}

/** Starts the heartbeat thread lazily, on the first running trial; it never keeps the process alive. */
export class ThreadHeartbeater implements Heartbeater {
  private worker: Worker | null = null;
  private failure: string | null = null;

  constructor(private readonly t: HeartbeatTarget) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    // The thread's file sits beside this one, .ts when run from source (the tsx loader carries over in execArgv), .js when built.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const w = new Worker(new URL(`./heartbeat-thread${ext}`, import.meta.url), { workerData: this.t });
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
