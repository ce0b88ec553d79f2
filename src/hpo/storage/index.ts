/**
 * Node-only study storages: SQLite (the run store's file, several processes
 * on one machine) and PostgreSQL (several machines), and
 * {@link openStudyStorage} choosing one from a URL.
 * @packageDocumentation
 */
import { check } from '../../errors.js';
import { DEFAULT_STORE_PATH } from '../../store/index.js';
import { InMemoryStorage, type StudyStorage } from '../storage.js';
import { openPostgresStudyStorage } from './postgres.js';
import { openSqliteStudyStorage } from './sqlite.js';
import type { SqlStorageOptions } from './sql.js';

export { openPostgresStudyStorage, redactUrl } from './postgres.js';
export { openSqliteStudyStorage } from './sqlite.js';
export { nodeWorkerId } from './heartbeat.js';
export { SqlStudyStorage, type SqlStorageOptions } from './sql.js';

/** Options of {@link openStudyStorage}: heartbeat interval, grace period and retry limit of the SQL storages. */
export type StudyStorageOptions = Omit<SqlStorageOptions, 'description'>;

/** The SQLite file a storage URL names (the default store, `sqlite:FILE` or a plain path), or undefined for a server, memory or another scheme. */
export function sqliteStoragePath(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return DEFAULT_STORE_PATH;
  if (/^postgres(ql)?:\/\//i.test(url) || url === 'memory:' || url === 'memory') return undefined;
  const sqlite = /^sqlite:(\/\/)?(.+)$/i.exec(url);
  if (sqlite) return sqlite[2] as string;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? undefined : url;
}

/**
 * Opens a study storage from a URL:
 * - `postgres://…` or `postgresql://…`: PostgreSQL;
 * - `sqlite:FILE`, `sqlite://FILE` or a plain file path: SQLite (the run store's file);
 * - `memory:`: this process only;
 * - nothing: the run store `runs/eccvkit.db`.
 *
 * @throws {@link EccvkitInputError} for another scheme, an unreachable server or a file that is not a run store
 */
export async function openStudyStorage(url: string | undefined, o: StudyStorageOptions = {}): Promise<StudyStorage> {
  if (url !== undefined && url !== '') {
    check(typeof url === 'string', '--storage', url, 'a storage URL');
    if (/^postgres(ql)?:\/\//i.test(url)) return openPostgresStudyStorage(url, o);
    if (url === 'memory:' || url === 'memory') return new InMemoryStorage();
  }
  const file = sqliteStoragePath(url);
  check(file !== undefined, '--storage', url, 'postgres://user@host:port/db, sqlite:FILE, a file path, or memory:');
  return openSqliteStudyStorage(file, o);
}
