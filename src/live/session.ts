/**
 * The session cookie: a signed random id and nothing else. The id is the anonymous
 * identity of a browser; the app may use it as its user token. It is accepted only from
 * this cookie (never from a URL or socket params), which rules out session fixation.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { DerivedKeys } from './tokens.js';

export const DEFAULT_SESSION_COOKIE = 'todo_live_session';

/** One year: the id is an anonymous identity, so it should outlive browser restarts. */
const DEFAULT_MAX_AGE_S = 365 * 24 * 60 * 60;

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface SessionCookieOptions {
  /** Cookie name; the `__Host-` prefix is added automatically when `secure` is set. */
  name?: string;
  /** Adds `Secure` (set it whenever the public URL is https). */
  secure?: boolean;
  maxAgeSeconds?: number;
}

/** Issues and reads the signed session cookie (`<uuid>.<base64url hmac>`). */
export class SessionCookie {
  readonly name: string;
  readonly #key: Buffer;
  readonly #secure: boolean;
  readonly #maxAge: number;

  constructor(keys: DerivedKeys, options: SessionCookieOptions = {}) {
    this.#key = keys['session-cookie'];
    this.#secure = options.secure ?? false;
    const base = options.name ?? DEFAULT_SESSION_COOKIE;
    this.name = this.#secure ? `__Host-${base}` : base;
    this.#maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_S;
  }

  /** A fresh random id (UUIDv4: 122 random bits). */
  newId(): string {
    return randomUUID();
  }

  /** The signed cookie value for `id`. */
  sign(id: string): string {
    return `${id}.${this.#mac(id)}`;
  }

  /** The session id from a signed cookie value, or `null` when absent, malformed or forged. */
  unsign(value: string | undefined | null): string | null {
    if (typeof value !== 'string' || value.length > 200) return null;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return null;
    const id = value.slice(0, dot);
    if (!ID_PATTERN.test(id)) return null;
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.#mac(id), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    // A copy: the slice would keep the whole cookie value alive (96 bytes) for as long as the
    // id is kept, which is the life of every socket, view and user server of the session.
    return Buffer.from(id, 'latin1').toString('latin1');
  }

  /** Reads the id from a `Cookie` request header. */
  readHeader(cookieHeader: string | undefined): string | null {
    if (cookieHeader === undefined) return null;
    for (const part of cookieHeader.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() !== this.name) continue;
      let raw = part.slice(eq + 1).trim();
      try {
        raw = decodeURIComponent(raw);
      } catch {
        return null;
      }
      return this.unsign(raw);
    }
    return null;
  }

  /** A complete `Set-Cookie` header value for `id`. */
  setCookieHeader(id: string): string {
    const parts = [
      `${this.name}=${encodeURIComponent(this.sign(id))}`,
      'Path=/',
      `Max-Age=${this.#maxAge}`,
      'HttpOnly',
      'SameSite=Lax',
    ];
    if (this.#secure) parts.push('Secure');
    return parts.join('; ');
  }

  #mac(id: string): string {
    return createHmac('sha256', this.#key).update(id).digest('base64url');
  }
}
