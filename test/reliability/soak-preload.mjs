// Loaded into the app under soak with `node --expose-gc --import <this file>`. On SIGUSR2 it
// collects garbage twice and writes the heap and the live handle counts (timers, sockets,
// file requests) to $SOAK_STATS_FILE, so the soak can watch a process it did not write
// without adding an endpoint to it.
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.SOAK_STATS_FILE;
if (file) {
  process.on('SIGUSR2', () => {
    globalThis.gc?.();
    globalThis.gc?.();
    const resources = {};
    for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1;
    const report = { ...process.memoryUsage(), resources, gc: typeof globalThis.gc === 'function' };
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  });
}
