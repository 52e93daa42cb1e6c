/**
 * Durable per-user todo lists: SQLite by default, PostgreSQL for more than one node.
 * Both adapters implement `TodoStore` and pass the same contract tests.
 */
export { type Migration, LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
export { openStore, type StoreOptions } from './open-store.js';
export { openPostgresStore, type PostgresStoreOptions, type PostgresTodoStore } from './postgres-store.js';
export { openSqliteStore, type SqliteStoreOptions, type SqliteTodoStore } from './sqlite-store.js';
export type {
  CleanupOptions,
  CleanupResult,
  Mutation,
  MutationKind,
  MutationRequest,
  MutationResult,
  StoreEvent,
  StoreLimits,
  StoreListener,
  Todo,
  TodoList,
  TodoStore,
} from './types.js';
export { DEFAULT_LIMITS } from './validate.js';
