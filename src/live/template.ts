/**
 * Templates: what a view's `render` returns.
 *
 * `html` is a tagged template that does no work: it returns a {@link Template} holding the
 * literal strings of the call site and the interpolated values. The strings array is the
 * template's identity. A JavaScript engine hands the same frozen `TemplateStringsArray` to every
 * evaluation of one call site, so "is this the same template as last time?" is an identity check,
 * and the statics the client needs are that array, never rebuilt. The cost: a template's shape
 * cannot be computed at run time (no dynamic tags); the benefit: the hot path of a diff compares
 * pointers.
 *
 * Values are escaped by default, in text and attribute positions alike. What may be interpolated
 * is a {@link Dynamic}: text and numbers (escaped), `null`/`undefined`/`false` (nothing), a nested
 * `Template`, trusted HTML from {@link raw}, an attribute fragment from {@link attr}, and lists,
 * either keyed with {@link each} or plain arrays (keyed by position).
 *
 * @example
 * ```ts
 * const item = (t: Todo, editing: number | null) => html`<li class="${t.id === editing ? 'editing' : ''}">${t.title}</li>`;
 * const view = html`<ul>${each(todos, (t) => t.id, item, editing)}</ul>${todos.length === 0 ? html`<p>Nothing to do</p>` : ''}`;
 * ```
 */

import { describeValue, ErrorCodes, TodoLiveError } from '../errors.js';

// --- development checks ---------------------------------------------------------------------------

let devMode = typeof process === 'undefined' || process.env.NODE_ENV !== 'production';

/**
 * Turns the development checks on or off. They are on unless `NODE_ENV=production`: duplicate
 * keys in {@link each} and non-string keys raise `LIVE_TEMPLATE` where the list is built. The
 * checks that cost nothing per render (unsafe call sites, values of a type that cannot be
 * rendered) always run.
 */
export function setDevMode(on: boolean): void {
  devMode = on;
}

/** Whether the development checks run. */
export function isDevMode(): boolean {
  return devMode;
}

// --- values ---------------------------------------------------------------------------------------

/** A key identifying one entry of a keyed list across renders. */
export type Key = string | number;

/**
 * Anything a template may interpolate. Text is escaped; `null`, `undefined` and `false` render
 * as nothing; `true`, numbers and bigints render as their decimal text.
 */
export type Dynamic =
  | string
  | number
  | bigint
  | boolean
  | null
  | undefined
  | Template
  | Raw
  | KeyedList
  | MemoList
  | readonly Dynamic[];

/** A template instance: the call site's strings (its identity) and this evaluation's values. */
export class Template {
  constructor(
    /** The literal parts; one more than `values`. The same array for every call of one site. */
    readonly strings: TemplateStringsArray,
    /** The interpolated values, in order. */
    readonly values: readonly Dynamic[],
  ) {}
}

/**
 * Builds a {@link Template}. Every interpolated string is escaped; attribute values must be
 * quoted (`class="${c}"`). A value where escaping cannot protect (an unquoted attribute value, a
 * tag name, a `<script>`/`<style>` body) raises `LIVE_TEMPLATE` the first time the call site is
 * rendered; a value among a tag's attributes must be bare attribute names or {@link attr}.
 */
export function html(strings: TemplateStringsArray, ...values: Dynamic[]): Template {
  return new Template(strings, values);
}

/** Trusted HTML, inserted without escaping. Create it with {@link raw} or {@link attr}. */
export class Raw {
  constructor(readonly html: string) {}
}

/**
 * Marks `html` as trusted markup, inserted verbatim. Never pass anything a user typed: escaping
 * is what keeps their text from becoming markup.
 */
export function raw(html: string): Raw {
  if (typeof html !== 'string') {
    throw new TodoLiveError(ErrorCodes.LIVE_TEMPLATE, `raw() expects a string of trusted HTML, got ${describeValue(html)}`);
  }
  return new Raw(html);
}

const ATTRIBUTE_NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*$/;
// Names are nearly always literals of a few templates: a set lookup instead of the pattern (the
// mount of a 100-todo page calls attr() 200 times). Bounded, for names built at run time.
const checkedNames = new Set<string>();
const MAX_CHECKED_NAMES = 256;

/**
 * An attribute whose presence varies, as one fragment with its leading space: `attr('checked',
 * true)` is ` checked`, `attr('title', 'a"b')` is ` title="a&quot;b"`, and `false`, `null` or
 * `undefined` give nothing. Place it inside a start tag, right after the tag name or another
 * attribute: `<input type="checkbox"${attr('checked', done)}>`.
 */
export function attr(name: string, value: string | number | boolean | null | undefined): Raw {
  if (!checkedNames.has(name)) {
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new TodoLiveError(ErrorCodes.LIVE_TEMPLATE, `attr() expects an attribute name such as "data-id", got ${describeValue(name)}`);
    }
    if (checkedNames.size < MAX_CHECKED_NAMES) checkedNames.add(name);
  }
  if (value === false || value === null || value === undefined) return EMPTY_RAW;
  if (value === true) return new Raw(` ${name}`);
  return new Raw(` ${name}="${escapeHTML(String(value))}"`);
}

const EMPTY_RAW = new Raw('');

/**
 * A keyed list, built by {@link each} without a context: the entries are already rendered, so
 * everything a diff needs is plain data and a render callback that throws does so inside the
 * view's `render`.
 */
export class KeyedList {
  constructor(
    /** One key per entry, or `null` when entries are identified by position (plain arrays). */
    readonly keys: readonly Key[] | null,
    /** The rendered entries, in order. */
    readonly entries: readonly Dynamic[],
  ) {}
}

/**
 * A keyed list remembered by its inputs, built by {@link each} with a context: the items, the
 * key function, the render function and the context, with nothing rendered yet. The diff keeps
 * the items, the render function and the context (not the rendered entries), and renders an
 * entry only when its item or the context is not the one it was last rendered from.
 */
export class MemoList {
  constructor(
    /** The items, by reference: the caller's array when one was given (see {@link each}). */
    readonly items: readonly unknown[],
    /** The key of an item; must depend on the item (and its position) only. */
    readonly key: (item: unknown, index: number) => Key,
    /** The entry of an item; must be a pure function of the item and the context. */
    readonly render: (item: unknown, context: unknown) => Dynamic,
    /** The second argument of every `render`, compared by identity between renders. */
    readonly context: unknown,
    /** The keys when the development checks computed them already, else `null` (computed on demand). */
    readonly keys: readonly Key[] | null,
  ) {}

  /** The key of entry `i`. */
  keyAt(i: number): Key {
    return this.keys === null ? this.key(this.items[i], i) : (this.keys[i] as Key);
  }
}

/**
 * A list whose entries are identified by key, so the client moves, inserts and deletes entries
 * instead of re-rendering the list: a toggled item costs that item's changed slots only.
 * Keys must be unique within the list (checked in development).
 *
 * Two forms:
 *
 * - `each(items, key, render)` renders every entry now, `render(item, index)`, into a
 *   {@link KeyedList}; the diff keeps each entry's rendered slots.
 * - `each(items, key, render, context)` renders nothing now and returns a {@link MemoList}: the
 *   diff keeps the items, `render` and `context`, and calls `render(item, context)` only for
 *   entries that are new or whose item or context changed (an unchanged entry costs one
 *   identity comparison and sends nothing). Its contract, which makes that sound:
 *   `render` must be a pure function of its two arguments (a module-level function is the
 *   normal case; a closure over anything else may show stale content), items and the context
 *   are compared by identity and must not be mutated once rendered (replace an item to change
 *   it), and an array of items is kept by reference, not copied, so it must not be changed
 *   afterwards either (checked in development). Another `render` function or another context
 *   re-renders every entry. Rendering happens inside the tracker's `mount` and `diff`, so an
 *   error thrown by `render` surfaces there.
 *
 * @example
 * ```ts
 * // eager: entries rendered on every render of the view
 * html`<ul>${each(todos, (t) => t.id, (t) => html`<li>${t.title}</li>`)}</ul>`
 * // remembered by input: entries rendered only when their todo or `editing` changed
 * const item = (t: Todo, editing: number | null) => html`<li class="${t.id === editing ? 'editing' : ''}">${t.title}</li>`;
 * html`<ul>${each(todos, (t) => t.id, item, editing)}</ul>`
 * ```
 */
export function each<T>(items: Iterable<T>, key: (item: T, index: number) => Key, render: (item: T, index: number) => Dynamic): KeyedList;
export function each<T, C>(
  items: Iterable<T>,
  key: (item: T, index: number) => Key,
  render: (item: T, context: C) => Dynamic,
  context: C,
): MemoList;
export function each<T>(
  items: Iterable<T>,
  key: (item: T, index: number) => Key,
  render: (item: T, second: never) => Dynamic,
  ...context: unknown[]
): KeyedList | MemoList {
  if (context.length > 0) return memoList(items, key, render as (item: unknown, context: unknown) => Dynamic, context[0]);
  return eagerList(items, key, render as (item: T, index: number) => Dynamic);
}

function memoList<T>(
  items: Iterable<T>,
  key: (item: T, index: number) => Key,
  render: (item: unknown, context: unknown) => Dynamic,
  context: unknown,
): MemoList {
  // An array is kept as it is: the caller's list usually lives on in the view's state anyway.
  const list: readonly unknown[] = Array.isArray(items) ? (items as readonly unknown[]) : Array.from(items);
  let keys: Key[] | null = null;
  if (devMode) {
    keys = new Array(list.length);
    for (let i = 0; i < list.length; i++) keys[i] = key(list[i] as T, i);
    checkKeys(keys);
  }
  return new MemoList(list, key as (item: unknown, index: number) => Key, render, context, keys);
}

function eagerList<T>(items: Iterable<T>, key: (item: T, index: number) => Key, render: (item: T, index: number) => Dynamic): KeyedList {
  // The keys outlive the render (the diff keeps them until the next one): size them exactly.
  if (Array.isArray(items)) {
    const list = items as readonly T[];
    const keys: Key[] = new Array(list.length);
    const entries: Dynamic[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const item = list[i] as T;
      keys[i] = key(item, i);
      entries[i] = render(item, i);
    }
    if (devMode) checkKeys(keys);
    return new KeyedList(keys, entries);
  }
  const keys: Key[] = [];
  const entries: Dynamic[] = [];
  let i = 0;
  for (const item of items) {
    keys.push(key(item, i));
    entries.push(render(item, i));
    i++;
  }
  if (devMode) checkKeys(keys);
  return new KeyedList(keys, entries);
}

function checkKeys(keys: readonly Key[]): void {
  const seen = new Set<Key>();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k !== 'string' && typeof k !== 'number') {
      throw new TodoLiveError(
        ErrorCodes.LIVE_TEMPLATE,
        `each() expects keys that are strings or numbers, got ${describeValue(k)} at position ${i}`,
        { details: { position: i } },
      );
    }
    if (seen.has(k)) {
      throw new TodoLiveError(
        ErrorCodes.LIVE_TEMPLATE,
        `each() expects unique keys, got ${describeValue(k)} twice (again at position ${i})`,
        { details: { key: k, position: i } },
      );
    }
    seen.add(k);
  }
}

// --- escaping and leaves ---------------------------------------------------------------------------

const ESCAPED = /[&<>"']/;
const ESCAPED_ALL = /[&<>"']/g;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const toEntity = (c: string): string => ENTITIES[c] as string;

/**
 * Escapes text for any quoted position in HTML: element content and single- or double-quoted
 * attribute values (`& < > " '`). Returns the argument itself when nothing needs escaping.
 */
export function escapeHTML(text: string): string {
  return ESCAPED.test(text) ? text.replace(ESCAPED_ALL, toEntity) : text;
}

/**
 * The HTML of a value that is not a template or a list: escaped text, decimal numbers, trusted
 * HTML, or nothing. Anything else is a mistake in the view and raises `LIVE_TEMPLATE`.
 */
export function leafToHTML(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return escapeHTML(value);
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : '';
    case 'undefined':
      return '';
    case 'object':
      if (value === null) return '';
      if (value instanceof Raw) return value.html;
      break;
  }
  throw new TodoLiveError(
    ErrorCodes.LIVE_TEMPLATE,
    `a template value must be text, a number, a boolean, null, undefined, html\`…\`, raw(), attr(), each() or an array; got ${describeValue(value)}`,
  );
}

// --- call sites ---------------------------------------------------------------------------------------

/** What is known about one `html` call site, computed and checked once. */
export interface CallSite {
  /** The call site's strings: its identity and its statics. */
  readonly strings: TemplateStringsArray;
  /** A small number, unique per call site in this process: the fingerprint. */
  readonly id: number;
  /**
   * Slots that sit among a tag's attributes (`<input type="checkbox"${…}>`). Escaping cannot
   * stop `onclick=alert(1)` there, so these slots take only bare attribute names (`" checked"`),
   * {@link attr}, {@link raw}, numbers, booleans or nothing: see {@link checkAttributeSlot}.
   */
  readonly attributeSlots: readonly number[] | null;
}

const sites = new WeakMap<TemplateStringsArray, CallSite>();
let nextId = 0;

/**
 * The {@link CallSite} of a strings array. The first call checks that the strings came from a
 * tagged template and that no value sits where escaping cannot protect it: in an unquoted
 * attribute value, a tag name, or the body of `<script>`/`<style>` (raising `LIVE_TEMPLATE`
 * otherwise). The result is cached in a `WeakMap` keyed by the strings array, so each call site
 * is scanned exactly once.
 */
export function callSite(strings: TemplateStringsArray): CallSite {
  const known = sites.get(strings);
  if (known !== undefined) return known;
  const attributeSlots = scanCallSite(strings);
  const site: CallSite = { strings, id: nextId++, attributeSlots: attributeSlots.length > 0 ? attributeSlots : null };
  sites.set(strings, site);
  return site;
}

/** The fingerprint of a call site: a small numeric id, stable for the life of the process. */
export function fingerprint(strings: TemplateStringsArray): number {
  return callSite(strings).id;
}

const BARE_ATTRIBUTE_NAMES = /^(?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*)*\s*$/;

/**
 * Checks a value bound among a tag's attributes (slot `slot` of a call site, listed in its
 * `attributeSlots`): text must be bare attribute names such as `" checked"`, anything with a
 * value goes through {@link attr}. Raises `LIVE_TEMPLATE` otherwise.
 */
export function checkAttributeSlot(value: unknown, slot: number): void {
  if (typeof value === 'string') {
    if (BARE_ATTRIBUTE_NAMES.test(value)) return;
  } else if (value === null || value === undefined || value instanceof Raw || typeof value !== 'object') {
    return;
  }
  throw new TodoLiveError(
    ErrorCodes.LIVE_TEMPLATE,
    `value ${slot} sits among a tag's attributes, where text may only be bare attribute names such as " checked"; use attr(name, value) for anything else, got ${describeValue(value)}`,
    { details: { slot } },
  );
}

// A small scanner over the statics, treating each value as opaque: enough to know whether a value
// lands in text, a quoted attribute, an unquoted attribute, a comment, or a script/style body.
const Scan = { Text: 0, Tag: 1, Quoted: 2, Comment: 3, RawText: 4 } as const;

function scanCallSite(strings: TemplateStringsArray): number[] {
  if (!Array.isArray(strings) || !Array.isArray((strings as { raw?: unknown }).raw)) {
    throw new TodoLiveError(
      ErrorCodes.LIVE_TEMPLATE,
      `html must be used as a tag (html\`<p>\${x}</p>\`), got ${describeValue(strings)} as its strings`,
    );
  }
  const attributeSlots: number[] = [];
  let state: number = Scan.Text;
  let quote = '';
  let rawTag = '';
  for (let part = 0; part < strings.length; part++) {
    const s = strings[part] as string;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      switch (state) {
        case Scan.Text:
          if (c === '<') {
            if (s.startsWith('<!--', i)) {
              state = Scan.Comment;
              i += 3;
            } else if (/[A-Za-z]/.test(s[i + 1] ?? '')) {
              const name = /^<([A-Za-z][^\s/>]*)/.exec(s.slice(i))?.[1]?.toLowerCase() ?? '';
              rawTag = name === 'script' || name === 'style' ? name : '';
              state = Scan.Tag;
            } else if (s[i + 1] === '/' && /[A-Za-z]/.test(s[i + 2] ?? '')) {
              state = Scan.Tag;
            }
          }
          break;
        case Scan.Tag:
          if (c === '"' || c === "'") {
            state = Scan.Quoted;
            quote = c;
          } else if (c === '>') {
            state = rawTag === '' ? Scan.Text : Scan.RawText;
          }
          break;
        case Scan.Quoted:
          if (c === quote) state = Scan.Tag;
          break;
        case Scan.Comment:
          if (s.startsWith('-->', i)) {
            state = Scan.Text;
            i += 2;
          }
          break;
        case Scan.RawText:
          if (c === '<' && s.slice(i, i + 2 + rawTag.length).toLowerCase() === `</${rawTag}`) {
            rawTag = '';
            state = Scan.Tag;
          }
          break;
      }
    }
    if (part === strings.length - 1) break;
    if (state === Scan.Text && /<\/?$/.test(s)) unsafeSite(strings, part, 'a tag name');
    if (state === Scan.Tag && /=\s*$/.test(s)) unsafeSite(strings, part, 'an unquoted attribute value; put it in quotes: name="…"');
    if (state === Scan.Tag) attributeSlots.push(part);
    if (state === Scan.RawText) unsafeSite(strings, part, `the body of <${rawTag}>, where escaping cannot protect it`);
  }
  return attributeSlots;
}

function unsafeSite(strings: TemplateStringsArray, part: number, where: string): never {
  const before = (strings[part] as string).slice(-40);
  throw new TodoLiveError(ErrorCodes.LIVE_TEMPLATE, `value ${part} of a template sits in ${where} (after ${JSON.stringify(before)})`, {
    details: { part },
  });
}
