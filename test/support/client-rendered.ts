/**
 * The browser client's own diff merge, in Node.
 *
 * `rendered.js` of `phoenix_live_view` 1.2.12 (the module the browser uses to merge diffs into
 * its tree and render it to HTML) is bundled from the installed package with esbuild the first
 * time this module loads, and imported from memory. Nothing is re-implemented: tests that merge
 * through {@link ClientRendered} see exactly what a browser would, errors included. The module
 * needs no DOM; its one browser global, `window` (used to dispatch diagnostics), is replaced by
 * an `EventTarget` whose events are recorded in {@link clientDiagnostics}.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { type Diff, LIVEVIEW_VERSION, type Rendered } from '../../src/live/protocol.js';

const require = createRequire(import.meta.url);
// The package exports only its bundles; its main file sits in priv/static/ below the root.
const packageRoot = join(dirname(require.resolve('phoenix_live_view')), '../..');
const { version } = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
if (version !== LIVEVIEW_VERSION) {
  throw new Error(`the client merge expects phoenix_live_view ${LIVEVIEW_VERSION}, found ${version} installed`);
}
const renderedSource = join(packageRoot, 'assets/js/phoenix_live_view/rendered.js');

const entry = `
import Rendered from ${JSON.stringify(renderedSource)};
export { Rendered };
export const diagnosticsTarget = __clientWindow;
`;

const bundle = await build({
  stdin: { contents: entry, resolveDir: packageRoot, sourcefile: 'client-rendered-entry.js', loader: 'js' },
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  logLevel: 'silent',
  banner: { js: 'const __clientWindow = new EventTarget();' },
  define: { window: '__clientWindow' },
});
const code = bundle.outputFiles[0]?.text;
if (code === undefined) throw new Error('esbuild produced no bundle for the client renderer');

/** The parts of the client's `Rendered` class we drive (see rendered.js). */
interface RenderedInstance {
  mergeDiff(diff: unknown): void;
  toString(onlyCids?: number[]): { buffer: string; streams: Set<unknown> };
  get(): unknown;
}
interface RenderedClass {
  new (viewId: string, rendered: unknown): RenderedInstance;
  /** Removes and returns the top-level keys the view handles itself. */
  extract(diff: unknown): { diff: Record<string, unknown>; title?: string; reply: unknown; events: unknown[] };
}

const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as {
  Rendered: RenderedClass;
  diagnosticsTarget: EventTarget;
};

/** Every diagnostic the client dispatched (`phx:live-view:diagnostic` details), oldest first. */
export const clientDiagnostics: unknown[] = [];
mod.diagnosticsTarget.addEventListener('phx:live-view:diagnostic', (event) => {
  clientDiagnostics.push((event as CustomEvent).detail);
});

/**
 * One view's client-side tree, driven by the official `Rendered` class.
 *
 * Frames are passed through `JSON.stringify`/`JSON.parse` first, as the socket would: the client
 * mutates what it merges, and a value that does not survive JSON (a `NaN`, an `undefined`) must
 * fail here as it would in a browser. The top-level keys the view extracts before merging
 * (`t`, `e`, `r`) are extracted the same way and kept in {@link title} and {@link events}.
 *
 * @example
 * ```ts
 * const client = new ClientRendered('phx-1', joinReply.rendered);
 * client.merge(diff);
 * assert.equal(client.toHTML(), expected);
 * ```
 */
export class ClientRendered {
  readonly #rendered: RenderedInstance;
  /** The last title a frame carried (`t`), if any. */
  title: string | undefined;
  /** Events of every frame merged so far (`e`), oldest first. */
  readonly events: unknown[] = [];
  /** Hook replies of every frame merged so far (`r`), oldest first. */
  readonly replies: unknown[] = [];

  constructor(viewId: string, mount: Rendered) {
    const diff = this.#extract(mount);
    this.#rendered = new mod.Rendered(viewId, diff);
  }

  /**
   * Merges one diff as the view does on an update. Returns whether a DOM patch would follow (the
   * client skips rendering when nothing but `t`/`e`/`r` arrived).
   */
  merge(diff: Diff): boolean {
    const rest = this.#extract(diff);
    if (Object.keys(rest).length === 0) return false;
    this.#rendered.mergeDiff(rest);
    return true;
  }

  /** The container's inner HTML, rendered by the client's own `toString`. */
  toHTML(): string {
    return this.#rendered.toString().buffer;
  }

  /** The client's tree as it stands (for assertions on its shape). */
  tree(): unknown {
    return this.#rendered.get();
  }

  #extract(frame: Diff | Rendered): Record<string, unknown> {
    const { diff, title, reply, events } = mod.Rendered.extract(JSON.parse(JSON.stringify(frame)));
    if (title !== undefined) this.title = title;
    if (reply !== null) this.replies.push(reply);
    this.events.push(...events);
    return diff;
  }
}
