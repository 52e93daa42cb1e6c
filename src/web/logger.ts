/**
 * Logger options for Fastify's pino: JSON lines on stdout, with every place a secret can
 * appear (cookies, CSRF and live tokens) redacted. The user token is a bearer credential, so
 * logs name a user only by a short hash of it.
 */
import { createHash } from 'node:crypto';
import type { Config } from './config.js';

/** Paths pino censors; cover the request and response shapes Fastify logs. */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'cookie',
  'token',
  'session',
  'static',
  '_csrf_token',
  'csrfToken',
  '*.token',
  '*.session',
  '*.static',
  '*._csrf_token',
];

/** The options object handed to `fastify({ logger })`. */
export function loggerOptions(config: Pick<Config, 'logLevel' | 'env'>): Record<string, unknown> {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Query strings carry the CSRF token on the socket upgrade; log the path only.
    serializers: {
      req(req: { method?: string; url?: string; ip?: string }) {
        return { method: req.method, url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined, ip: req.ip };
      },
    },
  };
}

/** A stable, non-reversible name for a user in logs: 12 hex chars of SHA-256 of the token. */
export function userTag(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}
