/**
 * The browser tier: Debian's Chromium driven by `playwright-core` (never a downloaded
 * browser), with a guard on every page that records console errors, uncaught page errors and
 * every `phx:live-view:diagnostic` the official client dispatches. A test calls
 * `page.guard.assertClean()` at its end (or uses {@link withBrowserPage}, which does), so a
 * malformed diff or a protocol slip fails the test even when the page looks fine.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { MANIFEST_PATH } from './fixture-server.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether browser tests can run: `undefined` when they can, else the reason to skip. In CI a
 * missing browser is a failure, not a skip.
 */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `${CHROMIUM_PATH} is missing: run scripts/setup.sh to install Chromium`;
  if (process.env.CI === 'true') throw new Error(reason);
  return reason;
}

/** Builds the browser bundle when `dist/static/manifest.json` is missing. */
export function ensureAssets(): void {
  if (existsSync(MANIFEST_PATH)) return;
  const root = new URL('../..', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [join(root, 'scripts/build-assets.mjs')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the browser bundle failed (node scripts/build-assets.mjs)');
}

/** One recorded problem on a page. */
export interface PageProblem {
  kind: 'console' | 'pageerror' | 'diagnostic';
  text: string;
}

/** What the guard watches on one page. */
export class PageGuard {
  readonly problems: PageProblem[] = [];
  readonly #tolerated: RegExp[] = [];

  /** Ignores problems whose text matches `pattern` (for a test that provokes them on purpose). */
  tolerate(pattern: RegExp): void {
    this.#tolerated.push(pattern);
  }

  record(problem: PageProblem): void {
    if (this.#tolerated.some((p) => p.test(problem.text))) return;
    this.problems.push(problem);
  }

  /** Throws when any console error, page error or client diagnostic was recorded. */
  assertClean(): void {
    if (this.problems.length === 0) return;
    const lines = this.problems.map((p) => `  ${p.kind}: ${p.text}`).join('\n');
    throw new Error(`the page reported ${this.problems.length} problem(s):\n${lines}`);
  }
}

export type GuardedPage = Page & { guard: PageGuard };

/** A Chromium with a fresh profile directory, removed on close. */
export interface TestBrowser {
  context: BrowserContext;
  /** A new page with its guard installed. */
  newPage(): Promise<GuardedPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'todo-live-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    async newPage() {
      const page = (await context.newPage()) as GuardedPage;
      const guard = new PageGuard();
      page.guard = guard;
      page.on('console', (msg) => {
        if (msg.type() === 'error') guard.record({ kind: 'console', text: msg.text() });
      });
      page.on('pageerror', (err) => guard.record({ kind: 'pageerror', text: err.message }));
      await page.exposeBinding('__reportLiveViewDiagnostic', (_source, detail: unknown) => {
        guard.record({ kind: 'diagnostic', text: JSON.stringify(detail) });
      });
      await page.addInitScript(() => {
        window.addEventListener('phx:live-view:diagnostic', (event) => {
          const detail = (event as CustomEvent).detail as Record<string, unknown> | undefined;
          const safe = detail === undefined ? null : { level: detail.level, code: detail.code, message: String(detail.message ?? '') };
          (window as unknown as { __reportLiveViewDiagnostic(d: unknown): void }).__reportLiveViewDiagnostic(safe);
        });
      });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the main view is joined and patched (the client's own ready signal). */
export async function waitForConnected(page: Page, timeoutMs = 10_000): Promise<void> {
  await page.waitForSelector('[data-phx-main].phx-connected', { timeout: timeoutMs });
}

/** Waits until every event the page pushed was acknowledged (no loading or locked element). */
export async function waitForAcks(page: Page, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction(() => document.querySelector('[data-phx-ref-loading],[data-phx-ref-lock]') === null, undefined, {
    timeout: timeoutMs,
  });
}
