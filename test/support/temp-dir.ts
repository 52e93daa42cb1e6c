import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the system temp dir; `remove()` deletes it and everything in it. */
export function makeTempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `todo-live-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
