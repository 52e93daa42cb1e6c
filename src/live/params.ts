/**
 * Parameters as views see them: query strings, path segments and URL-encoded form events
 * decoded into one nested object. Form names with brackets nest (`todo[title]=x` →
 * `{todo: {title: 'x'}}`, `ids[]=1&ids[]=2` → `{ids: ['1', '2']}`), `+` is a space.
 * Input is untrusted: keys that could reach a prototype are dropped and size is bounded.
 */

/** A decoded parameter value: text, a list, or a nested object. */
export type ParamValue = string | ParamValue[] | Params;
/** Decoded parameters. */
export interface Params {
  [key: string]: ParamValue;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 8;
const MAX_PAIRS = 1000;

function splitKey(name: string): string[] | null {
  const open = name.indexOf('[');
  if (open <= 0) return [name];
  const path = [name.slice(0, open)];
  let rest = name.slice(open);
  while (rest.length > 0) {
    const match = /^\[([^\]]*)\]/.exec(rest);
    if (match === null) return [name];
    path.push(match[1] ?? '');
    rest = rest.slice(match[0].length);
    if (path.length > MAX_DEPTH) return null;
  }
  return path;
}

function isObject(v: ParamValue | undefined): v is Params {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function put(target: Params, path: string[], value: string): void {
  let node: Params = target;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (FORBIDDEN_KEYS.has(key)) return;
    const last = i === path.length - 1;
    const nextKey = path[i + 1];
    if (last) {
      node[key] = value;
      return;
    }
    if (nextKey === '') {
      // `a[]=1`: a list of strings; deeper nesting after `[]` is not supported (kept flat).
      const current = node[key];
      const list = Array.isArray(current) ? current : [];
      list.push(value);
      node[key] = list;
      return;
    }
    const current = node[key];
    if (isObject(current)) {
      node = current;
    } else {
      const fresh: Params = {};
      node[key] = fresh;
      node = fresh;
    }
  }
}

/** Decodes `application/x-www-form-urlencoded` text (a query string or a form event value). */
export function decodeParams(text: string): Params {
  const out: Params = {};
  let count = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    if (++count > MAX_PAIRS) break;
    const path = splitKey(name);
    if (path !== null) put(out, path, value);
  }
  return out;
}

/** Merges `extra` over `base` (later wins), dropping keys that could reach a prototype. */
export function mergeParams(base: Params, extra: Record<string, unknown> | undefined): Params {
  if (extra === undefined) return base;
  for (const [key, value] of Object.entries(extra)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    const converted = toParamValue(value, 0);
    if (converted !== undefined) base[key] = converted;
  }
  return base;
}

/** Converts decoded JSON into parameter values: numbers and booleans become strings. */
export function toParamValue(value: unknown, depth: number): ParamValue | undefined {
  if (depth > MAX_DEPTH) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const out: ParamValue[] = [];
    for (const item of value) {
      const c = toParamValue(item, depth + 1);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Params = {};
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(k)) continue;
      const c = toParamValue(v, depth + 1);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return undefined;
}
