/**
 * Node cannot raise its own open-file limit, and thousands of sockets need more than the
 * usual soft limit of 1,024. When the soft limit is below the hard one, the generator runs
 * itself again under `ulimit -n <hard>` (once: an environment variable marks the child).
 */
import { spawn, spawnSync } from 'node:child_process';

const MARK = 'TODO_LIVE_LOAD_FD_RAISED';

/** The soft and hard `nofile` limits, as the shell reports them. */
export function fileLimits(): { soft: number; hard: number } {
  const r = spawnSync('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  const [soft, hard] = r.stdout.trim().split('\n').map((l) => (l === 'unlimited' ? Number.POSITIVE_INFINITY : Number(l)));
  return { soft: soft ?? Number.NaN, hard: hard ?? Number.NaN };
}

/**
 * Resolves when this process may go on (its limit is already the hard one, or raising it is
 * not possible); otherwise re-runs it under the raised limit and exits with the child's code.
 */
export async function ensureFileLimit(): Promise<void> {
  if (process.env[MARK] !== undefined) return;
  const { soft, hard } = fileLimits();
  if (!(soft < hard)) return;
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" && exec ${argv}`], { stdio: 'inherit', env: { ...process.env, [MARK]: '1' } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((resolve) => child.once('exit', (c, s) => resolve(c ?? (s === null ? 1 : 128))));
  process.exit(code);
}
