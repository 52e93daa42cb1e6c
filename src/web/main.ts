/**
 * The process entry point: `node dist/src/web/main.js` (or `tsx src/web/main.ts`). Reads the
 * configuration, serves the app, and turns SIGTERM and SIGINT into a graceful shutdown that
 * exits 0 when it finished in time.
 */
import { isTodoLiveError } from '../errors.js';
import { createTodoApp } from './app.js';
import { loadConfig } from './config.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    // A configuration problem is the operator's to fix: say what, without a stack trace.
    process.stderr.write(`${isTodoLiveError(err) ? err.message : String(err)}\n`);
    process.exit(78);
  }
  const app = await createTodoApp({ config });
  const log = app.fastify.log;

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'signal received');
    app.shutdown().then(
      (clean) => process.exit(clean ? 0 : 1),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const url = await app.listen();
  log.info({ url, publicUrl: config.publicUrl, store: config.store.kind }, 'todo-live is up');
}

main().catch((err: unknown) => {
  process.stderr.write(`todo-live failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
