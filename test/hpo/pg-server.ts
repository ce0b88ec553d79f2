/**
 * A private PostgreSQL server for the distributed-trial tests: `initdb` and
 * `pg_ctl` (Debian's `postgresql` package) on a free port, its socket and
 * data in a temporary folder, run as the `postgres` user when the tests run
 * as root (initdb refuses root). `stop()` shuts it down and removes the folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A running private server. */
export interface PgServer {
  url: string;
  port: number;
  stop(): void;
}

/** The folder holding initdb and pg_ctl, or null when PostgreSQL is not installed. */
export function postgresBinDir(): string | null {
  const candidates: string[] = [];
  if (process.env.ECCVKIT_PG_BIN) candidates.push(process.env.ECCVKIT_PG_BIN);
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    for (const v of fs.readdirSync(root).sort((a, b) => Number(b) - Number(a))) candidates.push(path.join(root, v, 'bin'));
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) candidates.push(path.dirname(which.stdout.trim()));
  return candidates.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl'))) ?? null;
}

/** Why the PostgreSQL tests skip here, or null when they can run. With ECCVKIT_REQUIRE_POSTGRES=1 (CI) a missing server is an error, not a skip. */
export function postgresSkipReason(): string | null {
  if (postgresBinDir()) return null;
  const why = 'PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin; apt-get install postgresql, or set ECCVKIT_PG_BIN)';
  if (process.env.ECCVKIT_REQUIRE_POSTGRES === '1') throw new Error(`ECCVKIT_REQUIRE_POSTGRES=1 but ${why}`);
  return why;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts a private server (a few seconds). */
export async function startPostgres(): Promise<PgServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresSkipReason() as string);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
    execFileSync(full[0] as string, full[1] as string[], { stdio: 'pipe' });
  };
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* not running */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    run('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', path.join(dir, 'log'), '-w', 'start']);
  } catch (err) {
    const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8') : '';
    stop();
    throw new Error(`private PostgreSQL did not start: ${(err as Error).message}\n${log}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
}
