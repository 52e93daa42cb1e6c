/**
 * One entry point from configuration to a store, so the composition root does not care
 * which adapter it gets.
 */
import { openPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { TodoStore } from './types.js';

export type StoreOptions =
  | ({ readonly kind: 'sqlite' } & SqliteStoreOptions)
  | ({ readonly kind: 'postgres' } & PostgresStoreOptions);

/** Opens the configured store, running migrations; resolves once it is ready for writes. */
export async function openStore(options: StoreOptions): Promise<TodoStore> {
  if (options.kind === 'sqlite') return openSqliteStore(options);
  return openPostgresStore(options);
}
