/**
 * Rendered tree → HTML, the way the browser client builds its container's inner HTML: statics
 * and dynamics interleaved, keyed entries in position order, integer statics resolved against
 * the nearest `p` table. The dead render goes through {@link DiffTracker.mount} and this
 * function, so the first HTTP response and the live updates share one code path.
 */

import { ErrorCodes, TodoLiveError, describeValue } from '../errors.js';
import { DiffTracker } from './diff.js';
import { type Comprehension, DiffKeys, type EntryDynamics, type Rendered, type RenderedNode, type Statics, type TemplatesTable } from './protocol.js';
import type { Template } from './template.js';

/**
 * The HTML of a full render (a join reply's `rendered`, or {@link DiffTracker.mount}'s result).
 * Components (numeric dynamics) are not supported and raise `LIVE_TEMPLATE`, as does a tree
 * with missing statics or entries: this renders complete trees, not diffs.
 */
export function renderedToHTML(rendered: Rendered | RenderedNode): string {
  return nodeToHTML(rendered as RenderedNode, undefined);
}

/** The HTML of a template, rendered as a fresh client would see it (the dead render's helper). */
export function templateToHTML(template: Template): string {
  return renderedToHTML(new DiffTracker().mount(template));
}

function nodeToHTML(node: RenderedNode | Comprehension, templates: TemplatesTable | undefined): string {
  if (DiffKeys.KEYED in node) return comprehensionToHTML(node as Comprehension, templates);
  // As in the client: a node's own table applies to it and everything below it.
  const n = node as RenderedNode;
  const table = n.p ?? templates;
  return dynamicsToHTML(n, resolve(n.s, table), table);
}

function comprehensionToHTML(node: Comprehension, templates: TemplatesTable | undefined): string {
  // As in the client: an enclosing table wins over the comprehension's own for its entries, and
  // the comprehension's statics resolve against the enclosing table only.
  const entryTable = templates ?? node.p;
  const statics = resolve(node.s, templates);
  const k = node.k;
  const count = k.kc;
  let out = '';
  for (let i = 0; i < count; i++) {
    const entry = k[i];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new TodoLiveError(
        ErrorCodes.LIVE_TEMPLATE,
        `a full render expects entry ${i} of ${count} as an object of dynamics, got ${describeValue(entry)}`,
      );
    }
    out += dynamicsToHTML(entry, statics, entryTable);
  }
  return out;
}

function dynamicsToHTML(node: EntryDynamics, statics: Statics, templates: TemplatesTable | undefined): string {
  let out = statics[0] ?? '';
  for (let i = 1; i < statics.length; i++) {
    const d = node[i - 1];
    if (typeof d === 'string') out += d;
    else if (typeof d === 'object' && d !== null) out += nodeToHTML(d, templates);
    else {
      throw new TodoLiveError(
        ErrorCodes.LIVE_TEMPLATE,
        `a full render expects dynamic ${i - 1} as a string or a node, got ${describeValue(d)}`,
      );
    }
    out += statics[i];
  }
  return out;
}

function resolve(s: Statics | number | undefined, templates: TemplatesTable | undefined): Statics {
  if (typeof s === 'number') {
    const found = templates?.[s];
    if (found !== undefined) return found;
    throw new TodoLiveError(ErrorCodes.LIVE_TEMPLATE, `statics ${s} refer to a shared template that the enclosing "p" does not hold`);
  }
  if (s === undefined) {
    throw new TodoLiveError(ErrorCodes.LIVE_TEMPLATE, 'a full render expects statics ("s") on every node, got a node without them');
  }
  return s;
}
