/**
 * Builds and starts the LiveViewJS TodoMVC peer on its own, for runs against a server that
 * stays up (`npm run bench:load -- --peer-url <url> --peer-pid <pid>`) or for a look in a
 * browser. The peer is copied to a temp folder, installed there from the npm registry
 * (reused while its lock file is unchanged) and built; it then runs until Ctrl-C.
 *
 *   npx tsx bench/peer.ts            # prints the URL and the pid
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerSpec, preparePeer, ServerProcess } from './load/servers.js';

const workDir = mkdtempSync(join(tmpdir(), 'todo-live-peer-'));
process.stdout.write('preparing the peer (copy, npm install, build)…\n');
const server = new ServerProcess(await peerSpec(workDir, preparePeer()));
await server.start();
process.stdout.write(`liveviewjs peer on ${server.url} (pid ${server.pid}); logs in ${server.spec.logFile}; Ctrl-C stops it\n`);

const stop = async () => {
  await server.stop();
  rmSync(workDir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
