/**
 * The dead render, as a browser gets it: GET with the tab's cookies (keeping new ones), then
 * the CSRF meta tag, the container's id, `data-phx-session` and `data-phx-static`, and the
 * todos shown (`<li id="todo-N" class="…completed…">` in the peer, `<li id="tN" class="completed">` in ours, the
 * class left out when empty).
 */
import { request } from 'node:http';

/** A browser's cookies: name → value. */
export type Cookies = Map<string, string>;

export interface Page {
  url: string;
  csrfToken: string;
  viewId: string;
  session: string;
  static: string | null;
  html: string;
  todos: { id: number; completed: boolean }[];
}

/** `Cookie` header of a jar. */
export function cookieHeader(jar: Cookies): string {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** GETs `url` from `localAddress` with the jar's cookies and returns status, body and cookies set. */
export function httpGet(url: string, jar: Cookies, localAddress?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size > 0) headers.cookie = cookieHeader(jar);
    const req = request(url, { method: 'GET', headers, agent: false, ...(localAddress === undefined ? {} : { localAddress }) }, (res) => {
      for (const header of res.headers['set-cookie'] ?? []) {
        const pair = header.split(';')[0] ?? '';
        const eq = pair.indexOf('=');
        if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url} timed out after 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
const unescapeAttr = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) => ENTITIES[e] ?? '');

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m === null ? null : unescapeAttr(m[1] ?? '');
}

/** Parses a live page; fails naming what is missing. */
export function parsePage(url: string, status: number, html: string): Page {
  const csrf = /<meta name="csrf-token" content="([^"]*)"/.exec(html)?.[1];
  const tag = /<div\b[^>]*\sdata-phx-session="[^"]*"[^>]*>/.exec(html)?.[0];
  if (status !== 200 || csrf === undefined || tag === undefined) {
    throw new Error(`expected a live page (200, csrf-token meta, data-phx-session container) at ${url}, got status ${status} and ${html.length} bytes`);
  }
  const todos: Page['todos'] = [];
  for (const m of html.matchAll(/<li id="(?:todo-|t)(\d+)"(?: class="([^"]*)")?/g)) {
    todos.push({ id: Number(m[1]), completed: (m[2] ?? '').split(' ').includes('completed') });
  }
  return {
    url,
    csrfToken: unescapeAttr(csrf),
    viewId: attr(tag, 'id') ?? '',
    session: attr(tag, 'data-phx-session') ?? '',
    static: attr(tag, 'data-phx-static') || null,
    html,
    todos,
  };
}

/** GET and parse in one. */
export async function fetchPage(url: string, jar: Cookies, localAddress?: string): Promise<Page> {
  const { status, body } = await httpGet(url, jar, localAddress);
  return parsePage(url, status, body);
}
