/**
 * The diff engine: from a view's next {@link Template} to the smallest diff the LiveView 1.2.12
 * client accepts, given what that client already holds.
 *
 * One {@link DiffTracker} per joined view. It keeps a mirror of the client's tree as *values*,
 * not HTML: for each node its call site's strings (the fingerprint) and, per slot, either the raw
 * value last sent (the same string the view passed, by reference, so no second copy), or a child
 * node, or a keyed list. A diff walks the new template against that mirror, updates it in place,
 * and emits only what changed:
 *
 * - a slot whose value is unchanged is omitted; an unchanged node is omitted;
 * - a node whose template is the same sends only its changed slots, without statics;
 * - a slot whose template changed (another branch of a conditional) sends the full node with its
 *   statics, which the client uses to replace what it held;
 * - keyed lists send, per new position, the changed slots of an entry that stayed put, a move
 *   (`j` or `[j, diff]`, with `km: true`) for an entry that came from old position `j`, or the
 *   complete dynamics of a new entry; `kc` always.
 *
 * A keyed list built with a context ({@link MemoList}) is mirrored by its inputs instead of its
 * slots: the items, the render function and the context. An entry whose item and context are
 * the ones it was rendered from is known to be unchanged without rendering it; a changed entry is
 * rendered twice, from its previous inputs (which reproduces what the client holds) and from the
 * new ones, and the two are diffed slot by slot as above, so the frames are the same either way.
 *
 * Statics that occur more than once in one frame are sent once, in the root's `p` table.
 *
 * The module is pure: no I/O, no timers; it imports only the wire vocabulary and templates.
 */

import { ErrorCodes, TodoLiveError, describeValue } from '../errors.js';
import type {
  Comprehension,
  Diff,
  EntryDynamics,
  KeyedEntries,
  KeyedEntry,
  Rendered,
  RenderedDynamic,
  RenderedNode,
  TemplatesTable,
} from './protocol.js';
import {
  type CallSite,
  callSite,
  checkAttributeSlot,
  type Dynamic,
  isDevMode,
  type Key,
  KeyedList,
  leafToHTML,
  MemoList,
  Raw,
  Template,
} from './template.js';

// --- the mirror of the client's tree ------------------------------------------------------------------

/** A leaf as last sent: the view's own value (escaped only when it changes). */
type Leaf = string | number | bigint | boolean | null | undefined | Raw;

type SlotState = Leaf | NodeState | ListState | MemoListState;

/** A node the client holds: its template's call site (strings and fingerprint) and one state per slot. */
class NodeState {
  constructor(
    readonly site: CallSite,
    readonly slots: SlotState[],
  ) {}
}

/**
 * A keyed comprehension the client holds. The entries' slots live in one flat array, entry `i`
 * at `[i * width, (i + 1) * width)`: an object and an array per entry would triple the memory of
 * a 100-item list, and lists are where the memory of a view goes.
 */
class ListState {
  constructor(
    /** The entries' shared call site; `null` while the client holds `""` (an empty list never sent with statics). */
    public site: CallSite | null,
    /** Keys by position, or `null` for a positional list. */
    public keys: readonly Key[] | null,
    /** The number of entries (kept apart: entries of a template without values have no slots). */
    public count: number,
    /** Every entry's slots, `width` per entry; a mixed list has one slot per entry, the entry itself. */
    public slots: SlotState[],
  ) {}
}

/**
 * A keyed list built with a context, as the client holds it: the inputs it was rendered from.
 * Re-rendering the previous items must reproduce the client's entries exactly, which holds when
 * `render` is pure and the entries contain no list: what the client holds for a list also depends
 * on its history (an emptied list keeps its statics, a mixed one stays mixed), which a render does
 * not reproduce. So only lists whose entries share one template and hold no list are mirrored this
 * way; any other is mirrored slot by slot by a {@link ListState}, as an eager list is. About 50
 * bytes whatever the list's length: the items array is the view's own.
 */
class MemoListState {
  constructor(
    /** The entries' shared call site; `null` while the client holds `""` (an empty list never sent with statics). */
    public site: CallSite | null,
    public items: readonly unknown[],
    public render: (item: unknown, context: unknown) => Dynamic,
    public context: unknown,
    /** The entries rendered by the build that created this state, until they are emitted. */
    public pending: readonly Template[] | null,
  ) {}
}

const widthOf = (site: CallSite): number => site.strings.length - 1;

const statics = (strings: TemplateStringsArray, ..._values: unknown[]): TemplateStringsArray => strings;

/**
 * The call site of a comprehension whose entries do not share one template (or are not
 * templates): statics `["", ""]`, each entry a single dynamic holding the entry itself.
 */
const MIXED = callSite(statics`${''}`);

// --- building state -------------------------------------------------------------------------------------

function buildSlot(value: Dynamic): SlotState {
  if (value instanceof Template) return buildNode(value);
  if (value instanceof KeyedList || Array.isArray(value)) return buildList(value as KeyedList | readonly Dynamic[]);
  if (value instanceof MemoList) return buildMemoList(value);
  return value as Leaf;
}

function buildNode(t: Template): NodeState {
  const site = callSite(t.strings);
  const slots: SlotState[] = new Array(t.values.length);
  fillSlots(site, slots, 0, t);
  return new NodeState(site, slots);
}

function fillSlots(site: CallSite, slots: SlotState[], at: number, t: Template): void {
  checkValues(site, t);
  const values = t.values;
  for (let i = 0; i < values.length; i++) slots[at + i] = buildSlot(values[i]);
}

/** The checks of a template's values sent in full: as many as its site has slots, and the attribute rule. */
function checkValues(site: CallSite, t: Template): void {
  checkArity(t, widthOf(site));
  if (site.attributeSlots !== null) for (const i of site.attributeSlots) checkAttributeSlot(t.values[i], i);
}

function checkArity(t: Template, width: number): void {
  if (t.values.length !== width) {
    throw new TodoLiveError(
      ErrorCodes.LIVE_TEMPLATE,
      `a template with ${width + 1} statics expects ${width} values, got ${t.values.length}`,
    );
  }
}

function buildList(list: KeyedList | readonly Dynamic[]): ListState {
  const keys = list instanceof KeyedList ? list.keys : null;
  const entries = list instanceof KeyedList ? list.entries : list;
  const n = entries.length;
  if (n === 0) return new ListState(null, keys, 0, []);
  const first = entries[0];
  const strings = first instanceof Template ? first.strings : null;
  let mixed = strings === null;
  for (let i = 1; i < n && !mixed; i++) {
    const e = entries[i];
    if (!(e instanceof Template) || e.strings !== strings) mixed = true;
  }
  const shared = mixed ? MIXED : callSite(strings as TemplateStringsArray);
  const width = widthOf(shared);
  const slots: SlotState[] = new Array(n * width);
  for (let i = 0; i < n; i++) fillEntry(shared, slots, i * width, entries[i]);
  return new ListState(shared, keys, n, slots);
}

function fillEntry(shared: CallSite, slots: SlotState[], at: number, value: Dynamic): void {
  if (shared === MIXED) slots[at] = buildSlot(value);
  else fillSlots(shared, slots, at, value as Template);
}

/** Renders every entry of a memo list (its keys are not needed for that). */
function renderAll(list: MemoList): Dynamic[] {
  const { items, render, context } = list;
  const entries: Dynamic[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) entries[i] = render(items[i], context);
  return entries;
}

/** The eager form of a memo list: keys and rendered entries, for the slot-mirror path. */
function materialize(list: MemoList, entries: readonly Dynamic[] = renderAll(list)): KeyedList {
  const keys: Key[] = new Array(entries.length);
  for (let i = 0; i < keys.length; i++) keys[i] = list.keyAt(i);
  return new KeyedList(keys, entries);
}

/**
 * The state of a memo list the client does not hold yet. Entries that do not share one template
 * (a mixed list) are mirrored slot by slot as an eager list would be.
 */
function buildMemoList(list: MemoList): MemoListState | ListState {
  const entries = renderAll(list);
  const n = entries.length;
  const first = entries[0];
  const strings = first instanceof Template ? first.strings : null;
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    if (!(e instanceof Template) || e.strings !== strings || holdsList(e)) return buildList(materialize(list, entries));
  }
  const site = strings === null ? null : callSite(strings);
  remember(list.items);
  return new MemoListState(site, list.items, list.render, list.context, n === 0 ? null : (entries as Template[]));
}

/** Whether a template has a list among its values, at any depth. */
function holdsList(t: Template): boolean {
  const values = t.values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'object' || v === null) continue;
    if (v instanceof Template) {
      if (holdsList(v)) return true;
    } else if (v instanceof KeyedList || v instanceof MemoList || Array.isArray(v)) {
      return true;
    }
  }
  return false;
}

/** Whether mirrored slots hold a list, at any depth. */
function slotsHoldList(slots: readonly SlotState[]): boolean {
  for (let i = 0; i < slots.length; i++) {
    const state = slots[i];
    if (state instanceof ListState || state instanceof MemoListState) return true;
    if (state instanceof NodeState && slotsHoldList(state.slots)) return true;
  }
  return false;
}

// In development, a copy of every items array a memo state holds, to catch a view that changes
// the array after rendering it (the diff would otherwise miss the change).
const snapshots = new WeakMap<readonly unknown[], readonly unknown[]>();

function remember(items: readonly unknown[]): void {
  if (isDevMode()) snapshots.set(items, items.slice());
}

function checkUnchanged(items: readonly unknown[]): void {
  const copy = snapshots.get(items);
  if (copy === undefined) return;
  let same = copy.length === items.length;
  for (let i = 0; same && i < copy.length; i++) same = copy[i] === items[i];
  if (!same) {
    throw new TodoLiveError(
      ErrorCodes.LIVE_TEMPLATE,
      'each() with a context keeps the items array it was given, and that array changed after it was rendered: render a new array instead of changing one',
    );
  }
}

// --- emitting full nodes -----------------------------------------------------------------------------------

/**
 * Collects the nodes of one frame that carry statics, so statics used more than once can be
 * moved into the root's `p` table when the frame is complete.
 */
class Encoder {
  private readonly nodes: Array<RenderedNode | Comprehension> = [];
  private readonly ids: number[] = [];

  full(node: RenderedNode | Comprehension, site: CallSite): void {
    this.nodes.push(node);
    this.ids.push(site.id);
  }

  /** Replaces repeated statics by indexes into a `p` table on `root`. */
  share(root: RenderedNode): void {
    const { nodes, ids } = this;
    if (nodes.length < 2) return;
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    if (counts.size === nodes.length) return;
    const index = new Map<number, number>();
    let table: TemplatesTable | undefined;
    for (let i = 0; i < nodes.length; i++) {
      const id = ids[i] as number;
      if ((counts.get(id) as number) < 2) continue;
      const node = nodes[i] as RenderedNode | Comprehension;
      let ix = index.get(id);
      if (ix === undefined) {
        ix = index.size;
        index.set(id, ix);
        table ??= {};
        table[ix] = node.s as TemplateStringsArray;
      }
      node.s = ix;
    }
    if (table !== undefined) root.p = table;
  }
}

function emitFull(state: SlotState, enc: Encoder): RenderedDynamic {
  if (state instanceof NodeState) {
    const node = emitSlots(state.slots, 0, state.slots.length, enc) as RenderedNode;
    node.s = state.site.strings;
    enc.full(node, state.site);
    return node;
  }
  if (state instanceof ListState) return emitList(state, enc);
  if (state instanceof MemoListState) return emitMemoList(state, enc);
  return leafToHTML(state);
}

function emitSlots(slots: SlotState[], at: number, width: number, enc: Encoder): EntryDynamics {
  const v: RenderedDynamic[] = new Array(width);
  for (let i = 0; i < width; i++) v[i] = emitFull(slots[at + i], enc);
  return indexed(v);
}

/**
 * A memo list's entry sent in full: what `fillSlots` then `emitSlots` give, without building slot
 * states the memo list does not keep. Leaves go straight to their HTML, so the type tests of
 * `buildSlot` and `emitFull` run only for nested templates and lists.
 */
function emitEntry(site: CallSite, width: number, t: Template, enc: Encoder): EntryDynamics {
  checkValues(site, t);
  const values = t.values;
  const v: RenderedDynamic[] = new Array(width);
  for (let i = 0; i < width; i++) {
    const x = values[i];
    v[i] = typeof x !== 'object' || x === null || x instanceof Raw ? leafToHTML(x) : emitFull(buildSlot(x), enc);
  }
  return indexed(v);
}

/**
 * The wire object `{0: …, 1: …}` of a node's or entry's dynamics. Written as literals because V8
 * makes an index-keyed literal from a boilerplate in one allocation, while stores into `{}` grow
 * its elements one at a time (about 10 against 200 ns for ten slots on this machine); the mount
 * of a 100-todo page makes a hundred of them.
 */
function indexed(v: RenderedDynamic[]): EntryDynamics {
  switch (v.length) {
    case 1:
      return { 0: v[0] } as EntryDynamics;
    case 2:
      return { 0: v[0], 1: v[1] } as EntryDynamics;
    case 3:
      return { 0: v[0], 1: v[1], 2: v[2] } as EntryDynamics;
    case 4:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3] } as EntryDynamics;
    case 5:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4] } as EntryDynamics;
    case 6:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5] } as EntryDynamics;
    case 7:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5], 6: v[6] } as EntryDynamics;
    case 8:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5], 6: v[6], 7: v[7] } as EntryDynamics;
    case 9:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5], 6: v[6], 7: v[7], 8: v[8] } as EntryDynamics;
    case 10:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5], 6: v[6], 7: v[7], 8: v[8], 9: v[9] } as EntryDynamics;
    case 11:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5], 6: v[6], 7: v[7], 8: v[8], 9: v[9], 10: v[10] } as EntryDynamics;
    case 12:
      return { 0: v[0], 1: v[1], 2: v[2], 3: v[3], 4: v[4], 5: v[5], 6: v[6], 7: v[7], 8: v[8], 9: v[9], 10: v[10], 11: v[11] } as EntryDynamics;
    default: {
      const out: EntryDynamics = {};
      for (let i = 0; i < v.length; i++) out[i] = v[i] as RenderedDynamic;
      return out;
    }
  }
}

function emitList(state: ListState, enc: Encoder): RenderedDynamic {
  // An empty list the client has never seen has no statics to send: Phoenix's "" convention.
  const shared = state.site;
  if (shared === null) return '';
  const width = widthOf(shared);
  const n = state.count;
  const k: KeyedEntries = { kc: n };
  for (let i = 0; i < n; i++) k[i] = emitSlots(state.slots, i * width, width, enc);
  const c: Comprehension = { s: shared.strings, k };
  enc.full(c, shared);
  return c;
}

function emitMemoList(state: MemoListState, enc: Encoder): RenderedDynamic {
  const shared = state.site;
  if (shared === null) return '';
  const entries = state.pending ?? (state.items.map((item) => state.render(item, state.context)) as Template[]);
  state.pending = null;
  const width = widthOf(shared);
  const n = entries.length;
  const k: KeyedEntries = { kc: n };
  for (let i = 0; i < n; i++) k[i] = emitEntry(shared, width, entries[i] as Template, enc);
  const c: Comprehension = { s: shared.strings, k };
  enc.full(c, shared);
  return c;
}

// --- diffing ---------------------------------------------------------------------------------------------------

/**
 * Diffs the value for `slots[i]` against what the client holds there, updates `slots[i]`, and
 * returns what to send, or `undefined` when the client's HTML for the slot is already right.
 */
function diffInto(slots: SlotState[], i: number, value: Dynamic, enc: Encoder): RenderedDynamic | undefined {
  const old = slots[i];
  if (value === old && (typeof value !== 'object' || value === null)) return undefined;
  if (value instanceof Template) {
    if (old instanceof NodeState && old.site.strings === value.strings) return diffNode(old, value, enc);
    const state = buildNode(value);
    slots[i] = state;
    return emitFull(state, enc);
  }
  if (value instanceof MemoList) {
    if (old instanceof MemoListState) return diffMemoList(slots, i, old, value, enc);
    if (old instanceof ListState) return diffListToMemo(slots, i, old, value, enc);
    const state = buildMemoList(value);
    slots[i] = state;
    const wire = emitFull(state, enc);
    return wire === '' && isEmptyLeaf(old) ? undefined : wire;
  }
  if (value instanceof KeyedList || Array.isArray(value)) {
    const list = value as KeyedList | readonly Dynamic[];
    if (old instanceof ListState) return diffList(old, list, enc);
    // From a memo list to an eager one (rare): its keys are gone, so the client gets the list anew.
    const state = buildList(list);
    slots[i] = state;
    const wire = emitList(state, enc);
    return wire === '' && isEmptyLeaf(old) ? undefined : wire;
  }
  const html = leafToHTML(value);
  slots[i] = value as Leaf;
  if (old instanceof NodeState) return html;
  if (old instanceof ListState || old instanceof MemoListState) return html === '' && old.site === null ? undefined : html;
  // Two different strings never escape to the same HTML; any other pair might ("1" and 1).
  if (typeof old === 'string' && typeof value === 'string') return html;
  return html === leafToHTML(old) ? undefined : html;
}

function isEmptyLeaf(state: SlotState): boolean {
  if (state instanceof NodeState) return false;
  if (state instanceof ListState || state instanceof MemoListState) return state.site === null;
  return leafToHTML(state) === '';
}

/** The changed slots of a node whose template did not change, or `undefined` if none did. */
function diffNode(state: NodeState, t: Template, enc: Encoder): EntryDynamics | undefined {
  return diffValues(state.site, state.slots, 0, t, enc);
}

/** Diffs the values of `t` against `slots[at…]` in place; the changed slots, or `undefined`. */
function diffValues(site: CallSite, slots: SlotState[], at: number, t: Template, enc: Encoder): EntryDynamics | undefined {
  const values = t.values;
  if (values.length !== widthOf(site)) checkArity(t, widthOf(site));
  let out: EntryDynamics | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // The common case, an unchanged primitive, costs one comparison.
    if (v === slots[at + i] && (typeof v !== 'object' || v === null)) continue;
    if (site.attributeSlots?.includes(i)) checkAttributeSlot(v, i);
    const wire = diffInto(slots, at + i, v, enc);
    if (wire !== undefined) {
      out ??= {};
      out[i] = wire;
    }
  }
  return out;
}

function diffEntry(shared: CallSite, slots: SlotState[], at: number, value: Dynamic, enc: Encoder): EntryDynamics | undefined {
  if (shared !== MIXED) return diffValues(shared, slots, at, value as Template, enc);
  const wire = diffInto(slots, at, value, enc);
  return wire === undefined ? undefined : { 0: wire };
}

/** Replaces a comprehension the client holds by a full one (its statics changed). */
function replaceList(state: ListState, list: KeyedList | readonly Dynamic[], enc: Encoder): RenderedDynamic {
  const fresh = buildList(list);
  state.site = fresh.site;
  state.keys = fresh.keys;
  state.count = fresh.count;
  state.slots = fresh.slots;
  return emitList(state, enc);
}

/**
 * The keyed diff. Entries are matched by key: a common prefix and suffix without a lookup (the
 * usual toggle, append and single delete), the middle through a map of the old keys. Each old
 * entry is claimed at most once, so even keys that repeat (only possible with the development
 * checks off) produce a correct, if larger, diff.
 */
function diffList(state: ListState, list: KeyedList | readonly Dynamic[], enc: Encoder): RenderedDynamic | undefined {
  const keys = list instanceof KeyedList ? list.keys : null;
  const values = list instanceof KeyedList ? list.entries : list;
  const n = values.length;
  const shared = state.site;
  if (shared === null) {
    if (n === 0) {
      state.keys = keys;
      return undefined;
    }
    return replaceList(state, list, enc);
  }
  if (shared !== MIXED) {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!(v instanceof Template) || v.strings !== shared.strings) return replaceList(state, list, enc);
    }
  }

  const width = widthOf(shared);
  const oldKeys = state.keys;
  const old = state.slots;
  const m = state.count;
  const lim = Math.min(m, n);
  let prefix = 0;
  while (prefix < lim && keyAt(oldKeys, prefix) === keyAt(keys, prefix)) prefix++;
  let suffix = 0;
  while (suffix < lim - prefix && keyAt(oldKeys, m - 1 - suffix) === keyAt(keys, n - 1 - suffix)) suffix++;

  // Appending after an unchanged list, or cutting its tail, keeps every entry where it is.
  const inPlace = prefix === m || prefix === n;
  const next: SlotState[] = inPlace ? old : new Array(n * width);
  let k: KeyedEntries | undefined;
  let moved = false;

  /** Position `i` holds the old entry `j`: copy its slots over, diff them, record what to send. */
  const reuse = (i: number, j: number): void => {
    if (!inPlace) for (let s = 0; s < width; s++) next[i * width + s] = old[j * width + s];
    const d = diffEntry(shared, next, i * width, values[i], enc);
    if (j !== i) {
      k ??= { kc: n };
      k[i] = d === undefined ? j : [j, d];
      moved = true;
    } else if (d !== undefined) {
      k ??= { kc: n };
      k[i] = d;
    }
  };

  for (let i = 0; i < prefix; i++) reuse(i, i);

  const newMiddleEnd = n - suffix;
  const oldMiddleEnd = m - suffix;
  let oldByKey: Map<Key, number> | undefined;
  if (prefix < newMiddleEnd && prefix < oldMiddleEnd) {
    oldByKey = new Map();
    for (let j = prefix; j < oldMiddleEnd; j++) oldByKey.set(keyAt(oldKeys, j), j);
  }
  for (let i = prefix; i < newMiddleEnd; i++) {
    const key = keyAt(keys, i);
    const j = oldByKey?.get(key);
    if (j !== undefined) {
      (oldByKey as Map<Key, number>).delete(key);
      reuse(i, j);
    } else {
      fillEntry(shared, next, i * width, values[i]);
      k ??= { kc: n };
      k[i] = emitSlots(next, i * width, width, enc);
    }
  }

  const shift = m - n;
  for (let i = newMiddleEnd; i < n; i++) reuse(i, i + shift);

  if (inPlace) next.length = n * width;
  state.keys = keys;
  state.count = n;
  state.slots = next;
  if (k === undefined) {
    if (n === m) return undefined;
    k = { kc: n };
  }
  if (moved) k.km = true;
  return { k };
}

function keyAt(keys: readonly Key[] | null, i: number): Key {
  return keys === null ? i : (keys[i] as Key);
}

// --- diffing memo lists ------------------------------------------------------------------------------------------

/**
 * A memo list where the client's list is mirrored slot by slot (the view switched forms, or the
 * list was mixed or held lists): the slot-mirror diff, then the mirror is traded for the inputs if
 * the list now qualifies (see {@link MemoListState}).
 */
function diffListToMemo(slots: SlotState[], i: number, old: ListState, list: MemoList, enc: Encoder): RenderedDynamic | undefined {
  const wire = diffList(old, materialize(list), enc);
  slots[i] = settle(old, list);
  return wire;
}

/** The state to keep for a slot-mirrored list that now shows `list`. */
function settle(state: ListState, list: MemoList): MemoListState | ListState {
  if (state.site === MIXED || slotsHoldList(state.slots)) return state;
  remember(list.items);
  return new MemoListState(state.site, list.items, list.render, list.context, null);
}

/**
 * The slot mirror of what the client holds for a memo list, rebuilt by rendering its previous
 * inputs (keys computed with `key`). Faithful because a memo state's entries hold no list.
 */
function mirrorOf(state: MemoListState, key: (item: unknown, index: number) => Key): ListState {
  const { items, render, context, site } = state;
  const m = items.length;
  if (site === null) return new ListState(null, [], 0, []);
  const width = widthOf(site);
  const keys: Key[] = new Array(m);
  const slots: SlotState[] = new Array(m * width);
  for (let j = 0; j < m; j++) {
    keys[j] = key(items[j], j);
    fillEntry(site, slots, j * width, render(items[j], context));
  }
  return new ListState(site, keys, m, slots);
}

/**
 * The keyed diff of a memo list, matching entries exactly as {@link diffList} does (keys of the
 * previous items are computed again with the new key function). It runs in two passes: the first
 * matches entries and renders only those that are new or whose item or context changed, so that a
 * changed template is found before anything is emitted (the list is then sent anew, as an eager
 * list would be); the second emits, in position order.
 */
function diffMemoList(slots: SlotState[], si: number, state: MemoListState, list: MemoList, enc: Encoder): RenderedDynamic | undefined {
  const prev = state.items;
  const items = list.items;
  if (isDevMode()) checkUnchanged(prev);
  const same = list.render === state.render && list.context === state.context;
  if (same && prev === items) return undefined;
  const n = items.length;
  const m = prev.length;
  const shared = state.site;
  if (shared === null) {
    if (n === 0) {
      setInputs(state, list);
      return undefined;
    }
    return diffListToMemo(slots, si, mirrorOf(state, list.key), list, enc);
  }

  const oldKey = (j: number): Key => list.key(prev[j], j);
  const lim = Math.min(m, n);
  let prefix = 0;
  while (prefix < lim && (prev[prefix] === items[prefix] || oldKey(prefix) === list.keyAt(prefix))) prefix++;
  let suffix = 0;
  while (suffix < lim - prefix) {
    const j = m - 1 - suffix;
    const i = n - 1 - suffix;
    if (!((i === j && prev[j] === items[i]) || oldKey(j) === list.keyAt(i))) break;
    suffix++;
  }

  // Pass 1: per position that needs anything, where it comes from (-1: new) and its renders.
  const at: number[] = [];
  const from: number[] = [];
  const next: Array<Template | null> = [];
  const before: Array<Template | null> = [];
  const strings = shared.strings;
  const plan = (i: number, j: number): boolean => {
    if (j >= 0 && same && prev[j] === items[i]) {
      if (j === i) return true;
      at.push(i);
      from.push(j);
      next.push(null);
      before.push(null);
      return true;
    }
    const now = list.render(items[i], list.context);
    if (!(now instanceof Template) || now.strings !== strings || holdsList(now)) return false;
    let was: Template | null = null;
    if (j >= 0) {
      const v = state.render(prev[j], state.context);
      if (!(v instanceof Template) || v.strings !== strings) notPure(v);
      was = v;
    }
    at.push(i);
    from.push(j);
    next.push(now);
    before.push(was);
    return true;
  };

  let ok = true;
  for (let i = 0; ok && i < prefix; i++) ok = plan(i, i);
  const newMiddleEnd = n - suffix;
  const oldMiddleEnd = m - suffix;
  if (ok && prefix < newMiddleEnd) {
    let oldByKey: Map<Key, number> | undefined;
    if (prefix < oldMiddleEnd) {
      oldByKey = new Map();
      for (let j = prefix; j < oldMiddleEnd; j++) oldByKey.set(oldKey(j), j);
    }
    for (let i = prefix; ok && i < newMiddleEnd; i++) {
      const key = list.keyAt(i);
      const j = oldByKey?.get(key);
      if (j !== undefined) (oldByKey as Map<Key, number>).delete(key);
      ok = plan(i, j ?? -1);
    }
  }
  const shift = m - n;
  for (let i = newMiddleEnd; ok && i < n; i++) ok = plan(i, i + shift);
  // An entry changed its template or now holds a list: today's slot-mirror diff, from a mirror of
  // what the client holds (nothing was emitted yet).
  if (!ok) return diffListToMemo(slots, si, mirrorOf(state, list.key), list, enc);

  // Pass 2: emit, in position order.
  const width = widthOf(shared);
  const scratch: SlotState[] = new Array(width);
  let k: KeyedEntries | undefined;
  let moved = false;
  for (let x = 0; x < at.length; x++) {
    const i = at[x] as number;
    const j = from[x] as number;
    const now = next[x] as Template | null;
    let wire: KeyedEntry | undefined;
    if (now === null) {
      wire = j;
    } else if (j < 0) {
      wire = emitEntry(shared, width, now, enc);
    } else {
      const d = diffRenders(shared, before[x] as Template, now, scratch, enc);
      wire = j === i ? d : d === undefined ? j : [j, d];
    }
    if (wire === undefined) continue;
    if (j >= 0 && j !== i) moved = true;
    k ??= { kc: n };
    k[i] = wire;
  }

  setInputs(state, list);
  if (k === undefined) {
    if (n === m) return undefined;
    k = { kc: n };
  }
  if (moved) k.km = true;
  return { k };
}

/**
 * The changed slots between two renders of an entry: what {@link diffValues} sends for `now`
 * against a mirror of `was`, building the mirror of a slot only where the two values differ.
 */
function diffRenders(site: CallSite, was: Template, now: Template, scratch: SlotState[], enc: Encoder): EntryDynamics | undefined {
  const before = was.values;
  const values = now.values;
  if (values.length !== widthOf(site)) checkArity(now, widthOf(site));
  let out: EntryDynamics | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const old = before[i];
    if (v === old && (typeof v !== 'object' || v === null)) continue;
    if (site.attributeSlots?.includes(i)) checkAttributeSlot(v, i);
    scratch[0] = buildSlot(old as Dynamic);
    const wire = diffInto(scratch, 0, v, enc);
    if (wire !== undefined) {
      out ??= {};
      out[i] = wire;
    }
  }
  return out;
}

function notPure(v: Dynamic): never {
  throw new TodoLiveError(
    ErrorCodes.LIVE_TEMPLATE,
    `each() with a context expects render(item, context) to be a pure function of its arguments, but the inputs of an entry the client holds now render ${describeValue(v)}, not the template they rendered before`,
  );
}

function setInputs(state: MemoListState, list: MemoList): void {
  remember(list.items);
  state.items = list.items;
  state.render = list.render;
  state.context = list.context;
}

// --- the tracker ---------------------------------------------------------------------------------------------------

/**
 * What one joined view's client holds, and the diffs that move it forward.
 *
 * `mount` renders fully (for the join reply and for the dead render) and resets the tracker to
 * "the client holds exactly this"; `diff` returns only what changed since the last frame, or
 * `null`. Frames must reach the client in the order they were produced. If `diff` throws (a
 * template broke an invariant), the tracker forgets the client's state: the next call must be
 * `mount`, which is what a rejoin does.
 *
 * Both return a fresh object the caller owns: it may add the top-level keys `t`, `e` and `r`
 * before sending it. Statics inside it are the call sites' frozen strings arrays, shared, so
 * serialise the frame rather than handing the object itself to code that mutates it.
 *
 * Memory: the tracker keeps one reference per slot (8 bytes on 64-bit Node), the keys of each
 * eager list, and a small object per nested node: about 7 KB for an eager list of 100 TodoMVC
 * items of 8 slots. A list built with a context costs one small object whatever its length (the
 * items array is the view's own), so the same page is about 0.2 KB.
 *
 * @example
 * ```ts
 * const tracker = new DiffTracker();
 * reply({ rendered: tracker.mount(view.render(assigns)) });
 * // after an event:
 * const diff = tracker.diff(view.render(assigns));
 * reply(diff === null ? {} : { diff });
 * ```
 */
export class DiffTracker {
  #root: NodeState | null = null;

  /** Whether the tracker holds a client state that `diff` can build on. */
  get mounted(): boolean {
    return this.#root !== null;
  }

  /**
   * The full render of `template`, statics included (the join reply's `rendered`; the input of
   * {@link renderedToHTML} for the dead render). Forgets whatever the client held before.
   */
  mount(template: Template): Rendered {
    this.#root = null;
    if (!(template instanceof Template)) {
      throw new TodoLiveError(ErrorCodes.LIVE_TEMPLATE, `a view must render an html\`…\` template, got ${describeValue(template)}`);
    }
    const enc = new Encoder();
    const root = buildNode(template);
    const out = emitSlots(root.slots, 0, root.slots.length, enc) as RenderedNode;
    out.s = root.site.strings;
    enc.share(out);
    this.#root = root;
    return out as Rendered;
  }

  /**
   * The diff that brings the client from the last frame to `template`, or `null` when its HTML
   * would not change. A root of another template is sent in full (the client replaces its tree).
   */
  diff(template: Template): Diff | null {
    const root = this.#root;
    if (root === null) {
      throw new TodoLiveError(
        ErrorCodes.LIVE_DIFF_STATE,
        'diff() expects a mounted tracker; got one that was never mounted, was reset, or whose last diff failed: mount() again',
      );
    }
    if (!(template instanceof Template) || template.strings !== root.site.strings) return this.mount(template);
    // Until this diff completes the mirror is half-updated: a throw must leave the tracker unmounted.
    this.#root = null;
    const enc = new Encoder();
    const out = diffNode(root, template, enc) as Diff | undefined;
    if (out !== undefined) enc.share(out as unknown as RenderedNode);
    this.#root = root;
    return out ?? null;
  }

  /** Forgets what the client holds (the view left); `diff` then throws until the next `mount`. */
  reset(): void {
    this.#root = null;
  }
}
