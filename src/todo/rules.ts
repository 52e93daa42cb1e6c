/**
 * The TodoMVC rules that need no I/O: what a valid title is, what each filter shows, how the
 * counter reads. Shared by the view (to render and to validate input before any call) and the
 * per-user server (to validate again before anything is stored).
 */

/** The smallest title limit we accept as configuration; titles are counted in code points. */
export const DEFAULT_MAX_TITLE_LENGTH = 500;
export const DEFAULT_MAX_TODOS_PER_USER = 1000;

export type TitleCheck =
  | { ok: true; title: string }
  | { ok: false; reason: 'empty' | 'too_long' | 'not_text'; length?: number };

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Normalises a title as typed: NFC (so "é" typed two ways is one title), line breaks and
 * other control characters to spaces (a title is one line), unpaired surrogates to U+FFFD,
 * then trimmed.
 */
export function checkTitle(input: unknown, maxLength = DEFAULT_MAX_TITLE_LENGTH): TitleCheck {
  if (typeof input !== 'string') return { ok: false, reason: 'not_text' };
  // A 100 KB paste is refused without normalising all of it first.
  if (input.length > maxLength * 4 + 1024) return { ok: false, reason: 'too_long', length: input.length };
  const title = input
    .normalize('NFC')
    .replace(CONTROL_CHARACTERS, ' ')
    // A lone surrogate cannot be encoded as UTF-8 (the store refuses it): show U+FFFD instead.
    .replace(/\p{Surrogate}/gu, '\uFFFD')
    .trim();
  if (title === '') return { ok: false, reason: 'empty' };
  const length = codePointLength(title);
  if (length > maxLength) return { ok: false, reason: 'too_long', length };
  return { ok: true, title };
}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export type Filter = 'all' | 'active' | 'completed';

export const FILTER_PATHS: Record<Filter, string> = { all: '/', active: '/active', completed: '/completed' };

/** The filter a path selects; unknown paths show everything. */
export function filterFromPath(path: string): Filter {
  const clean = path.split(/[?#]/)[0]?.replace(/\/+$/, '') ?? '';
  if (clean === '/active') return 'active';
  if (clean === '/completed') return 'completed';
  return 'all';
}

export function matchesFilter(completed: boolean, filter: Filter): boolean {
  return filter === 'all' || (filter === 'active' ? !completed : completed);
}

const pluralRules = new Map<string, Intl.PluralRules>();

/** "0 items", "1 item", "2 items": the noun after the count of active todos. */
export function itemsLeftNoun(count: number, locale = 'en'): 'item' | 'items' {
  // English has one plural rule for whole numbers; Intl.PluralRules#select costs microseconds
  // on every render, and a page renders on every activation.
  if (locale === 'en' && Number.isInteger(count)) return count === 1 ? 'item' : 'items';
  let rules = pluralRules.get(locale);
  if (rules === undefined) {
    rules = new Intl.PluralRules(locale);
    pluralRules.set(locale, rules);
  }
  return rules.select(count) === 'one' ? 'item' : 'items';
}
