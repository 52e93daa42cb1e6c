/**
 * Response headers through `@fastify/helmet`: a strict Content-Security-Policy (no inline
 * script or style anywhere in the app), no framing, no sniffing, and HSTS only when the public
 * URL is https (HSTS on a plain-http origin would lock a browser out of it).
 */
import type { FastifyHelmetOptions } from '@fastify/helmet';

/** The helmet options for an app reachable at `publicUrl` whose socket origins are `allowedOrigins`. */
export function helmetOptions(publicUrl: string, allowedOrigins: readonly string[]): FastifyHelmetOptions {
  const https = publicUrl.startsWith('https:');
  // 'self' covers ws: and wss: of the page's own origin only in newer browsers; naming the
  // socket origins explicitly keeps older ones working.
  const sockets = [...new Set([publicUrl, ...allowedOrigins].map((o) => new URL(o).origin.replace(/^http/, 'ws')))];
  return {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // todomvc-app-css draws its checkboxes with data: SVGs.
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", ...sockets],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // The legacy header must say what frame-ancestors says, for browsers that only read it.
    frameguard: { action: 'deny' },
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  };
}
