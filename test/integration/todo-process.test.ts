import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { freePort } from '../support/start-app.js';
import { makeTempDir } from '../support/temp-dir.js';
import { TodoTab } from '../support/todo-tab.js';

const root = new URL('../..', import.meta.url).pathname;
const children = new Set<ChildProcess>();

after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs `src/web/main.ts` as an operator would, and resolves once it serves. */
async function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string; exit: Promise<number | null> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/web/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) assert.fail(`the server exited with ${child.exitCode}:\n${out}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) assert.fail(`the server did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, output: () => out, exit };
}

describe('the process', { timeout: 60_000 }, () => {
  it('on SIGTERM closes sockets with 1001, logs without secrets, and exits 0 with the todos stored', async () => {
    const data = makeTempDir('process');
    try {
      const { child, url, output, exit } = await serve({ DATA_DIR: data.path, SHUTDOWN_TIMEOUT_MS: '5000' });
      const tab = await TodoTab.open(url);
      await tab.add('written before SIGTERM');
      const closed = tab.client.closed;
      const started = Date.now();
      child.kill('SIGTERM');
      assert.equal((await closed).code, 1001);
      assert.equal(await exit, 0, output());
      assert.ok(Date.now() - started < 5000, 'within SHUTDOWN_TIMEOUT_MS');
      const log = output();
      const cookie = tab.client.jar.get('todo_live_session') ?? '';
      assert.ok(cookie.length > 20);
      assert.ok(!log.includes(cookie.split('.')[1] ?? '?'), 'the cookie signature never reaches the logs');
      assert.ok(!log.includes(tab.client.page.csrfToken), 'the CSRF token never reaches the logs');
      assert.match(log, /"msg":"stopped"/);

      const again = await serve({ DATA_DIR: data.path });
      const tab2 = await TodoTab.open(again.url, '/', { jar: tab.client.jar });
      assert.deepEqual(tab2.titles(), ['written before SIGTERM']);
      await tab2.close();
      again.child.kill('SIGTERM');
      assert.equal(await again.exit, 0);
    } finally {
      data.remove();
    }
  });

  it('refuses to start with invalid configuration and names every problem', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/web/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: 'eighty', MAX_TITLE_LENGTH: '3', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let err = '';
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 78);
    assert.match(err, /PORT/);
    assert.match(err, /MAX_TITLE_LENGTH/);
  });
});
