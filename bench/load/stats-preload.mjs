// Loaded into a measured server with `node --expose-gc --import <this file>`. On SIGUSR2 it
// collects garbage twice and writes `process.memoryUsage()` to $LOAD_STATS_FILE, so the load
// generator can read the heap of a server it did not write, without an HTTP endpoint. With
// $LOAD_HEAP_SNAPSHOT_DIR set it also writes a heap snapshot there each time (slow: profiling only).
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.LOAD_STATS_FILE;
const snapshots = process.env.LOAD_HEAP_SNAPSHOT_DIR;
let taken = 0;
if (file) {
  process.on('SIGUSR2', () => {
    const started = performance.now();
    globalThis.gc?.();
    globalThis.gc?.();
    const gcMs = performance.now() - started;
    const m = process.memoryUsage();
    if (snapshots) writeHeapSnapshot(join(snapshots, `${process.pid}-${String(++taken).padStart(2, '0')}.heapsnapshot`));
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...m, gcMs, gcAvailable: typeof globalThis.gc === 'function' }));
    renameSync(`${file}.tmp`, file);
  });
}
