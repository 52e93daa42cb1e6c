/**
 * Signed tokens for the live layer: the view tokens carried by `data-phx-session` and
 * `data-phx-static`, and the CSRF token checked when a socket connects.
 *
 * Tokens are signed, not encrypted: the page shows them, so they must never hold secrets,
 * only identifiers the server checks. Every purpose signs with its own key derived from one
 * root secret with HKDF, so a token minted for one purpose never verifies for another.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCodes, TodoLiveError } from '../errors.js';

/** What each derived key is for; the HKDF `info` string of each. */
export type KeyPurpose = 'session-cookie' | 'csrf' | 'live-session' | 'live-static';

/** The version stamped into every view token; bump it to invalidate every token in the wild. */
export const TOKEN_VERSION = 1;

/** Phoenix's default maximum age of a view token: two weeks. */
export const DEFAULT_TOKEN_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;

const MIN_SECRET_LENGTH = 32;
const HKDF_SALT = 'todo-live/v1';

/** One 32-byte key per purpose, derived from the root secret. */
export type DerivedKeys = Readonly<Record<KeyPurpose, Buffer>>;

/**
 * Derives the per-purpose keys from the root secret (`SECRET_KEY_BASE`).
 * Throws `LIVE_BAD_TOKEN` when the secret is too short to be a secret.
 */
export function deriveKeys(secretKeyBase: string): DerivedKeys {
  if (secretKeyBase.length < MIN_SECRET_LENGTH) {
    throw new TodoLiveError(
      ErrorCodes.LIVE_BAD_TOKEN,
      `expected a secret of at least ${MIN_SECRET_LENGTH} characters, got ${secretKeyBase.length}`,
    );
  }
  const derive = (purpose: KeyPurpose) =>
    Buffer.from(hkdfSync('sha256', secretKeyBase, HKDF_SALT, purpose, 32));
  return Object.freeze({
    'session-cookie': derive('session-cookie'),
    csrf: derive('csrf'),
    'live-session': derive('live-session'),
    'live-static': derive('live-static'),
  });
}

/** Why a token did not verify; `outdated` is a token from another {@link TOKEN_VERSION}. */
export type TokenFailure = 'invalid' | 'expired' | 'outdated';

export type VerifyResult<T> = { ok: true; data: T; issuedAt: number } | { ok: false; reason: TokenFailure };

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Signs `data` as `<base64url(json)>.<base64url(hmac)>`; the JSON envelope is
 * `{v, iat, d}` so version and age are covered by the signature.
 */
export function signToken(key: Buffer, data: unknown, now: number = Date.now()): string {
  const body = Buffer.from(JSON.stringify({ v: TOKEN_VERSION, iat: now, d: data })).toString('base64url');
  return `${body}.${hmac(key, body).toString('base64url')}`;
}

/**
 * Verifies a token made by {@link signToken}: signature first (constant time), then
 * version, then age. Never throws on hostile input.
 */
export function verifyToken<T = unknown>(
  key: Buffer,
  token: unknown,
  maxAgeMs: number = DEFAULT_TOKEN_MAX_AGE_MS,
  now: number = Date.now(),
): VerifyResult<T> {
  if (typeof token !== 'string' || token.length > 8192) return { ok: false, reason: 'invalid' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { ok: false, reason: 'invalid' };
  const body = token.slice(0, dot);
  // Compared as text, not as decoded bytes: base64url decoding is lenient (the last
  // character's spare bits are ignored, stray characters skipped), so several strings decode
  // to one signature, and a token must have exactly one spelling.
  const signature = Buffer.from(token.slice(dot + 1));
  if (!equalBytes(signature, Buffer.from(hmac(key, body).toString('base64url')))) return { ok: false, reason: 'invalid' };
  let envelope: unknown;
  try {
    envelope = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (typeof envelope !== 'object' || envelope === null) return { ok: false, reason: 'invalid' };
  const { v, iat, d } = envelope as { v?: unknown; iat?: unknown; d?: unknown };
  if (v !== TOKEN_VERSION) return { ok: false, reason: 'outdated' };
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return { ok: false, reason: 'invalid' };
  // A token from the future is as suspect as an old one (clock skew aside, a minute of slack).
  if (now - iat > maxAgeMs || iat - now > 60_000) return { ok: false, reason: 'expired' };
  return { ok: true, data: d as T, issuedAt: iat };
}

const CSRF_BYTES = 32;

/**
 * CSRF tokens bound to a session id: the secret part is `HMAC(csrfKey, sessionId)`, and
 * every page gets it XOR-masked with fresh random bytes (`mask ‖ masked`), so the token in
 * the HTML differs on every render (no BREACH-style recovery through compression).
 */
export class CsrfTokens {
  readonly #key: Buffer;

  constructor(keys: DerivedKeys) {
    this.#key = keys.csrf;
  }

  /** A fresh masked token for a page rendered for `sessionId`. */
  issue(sessionId: string): string {
    const secret = hmac(this.#key, sessionId);
    const mask = randomBytes(CSRF_BYTES);
    const masked = Buffer.alloc(CSRF_BYTES);
    for (let i = 0; i < CSRF_BYTES; i++) masked[i] = secret[i]! ^ mask[i]!;
    return Buffer.concat([mask, masked]).toString('base64url');
  }

  /** True when `token` was issued for `sessionId` (constant-time comparison). */
  verify(sessionId: string, token: unknown): boolean {
    if (typeof token !== 'string' || token.length > 128) return false;
    const raw = Buffer.from(token, 'base64url');
    // Only the canonical spelling counts (see verifyToken).
    if (raw.length !== CSRF_BYTES * 2 || raw.toString('base64url') !== token) return false;
    const unmasked = Buffer.alloc(CSRF_BYTES);
    for (let i = 0; i < CSRF_BYTES; i++) unmasked[i] = raw[i]! ^ raw[i + CSRF_BYTES]!;
    return equalBytes(unmasked, hmac(this.#key, sessionId));
  }
}

/** What a `data-phx-session` token says: which view, under which container id, for whom. */
export interface ViewSessionClaims {
  /** The container id; must equal the id in the channel topic. */
  lvId: string;
  /** The view's name as registered in the router. */
  view: string;
  /** The session cookie id the page was rendered for. */
  sid: string;
  /** Extra session data the app put in at render time (JSON-safe). */
  data?: Record<string, unknown>;
}

/** Signs and verifies the view tokens embedded in the container of a dead render. */
export class ViewTokens {
  readonly #sessionKey: Buffer;
  readonly #staticKey: Buffer;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(keys: DerivedKeys, options: { maxAgeMs?: number; now?: () => number } = {}) {
    this.#sessionKey = keys['live-session'];
    this.#staticKey = keys['live-static'];
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_TOKEN_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
  }

  signSession(claims: ViewSessionClaims): string {
    return signToken(this.#sessionKey, claims, this.#now());
  }

  /** The static token binds per-render data to the container id. */
  signStatic(lvId: string): string {
    return signToken(this.#staticKey, { lvId }, this.#now());
  }

  verifySession(token: unknown): VerifyResult<ViewSessionClaims> {
    const result = verifyToken<ViewSessionClaims>(this.#sessionKey, token, this.#maxAgeMs, this.#now());
    if (!result.ok) return result;
    const c = result.data as Partial<ViewSessionClaims> | null;
    if (
      c === null ||
      typeof c !== 'object' ||
      typeof c.lvId !== 'string' ||
      typeof c.view !== 'string' ||
      typeof c.sid !== 'string' ||
      (c.data !== undefined && (typeof c.data !== 'object' || c.data === null))
    ) {
      return { ok: false, reason: 'invalid' };
    }
    return result;
  }

  /** A missing static token is fine (the client sends `null`); a present one must match. */
  verifyStatic(token: unknown, lvId: string): boolean {
    if (token === null || token === undefined || token === '') return true;
    const result = verifyToken<{ lvId?: unknown }>(this.#staticKey, token, this.#maxAgeMs, this.#now());
    return result.ok && typeof result.data === 'object' && result.data?.lvId === lvId;
  }
}
