/**
 * The browser security policy every response carries, in one definition: the headers set on
 * responses Fastify builds (plugin.ts) and on the answers written straight to the socket, which no
 * hook ever sees (client-errors.ts).
 *
 * helmet decides every value — its defaults, our Content-Security-Policy, HSTS outside DEBUG —
 * but its middleware rebuilds and re-validates the whole policy on each call, which cost more than
 * the rest of a JSON answer. So it runs once, at start-up, against a response that only records
 * headers, and every response then gets that same set.
 *
 * Nonces: HTML pages need one to run their own scripts and styles under `script-src`/`style-src`
 * without `'unsafe-inline'`. A page gets a fresh pair of nonces when it asks for one (rendering a
 * view does), and its CSP names them; every other response (JSON, streams, redirects, files) keeps
 * the same policy without nonces, which allows strictly less.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

/** CSP directives, helmet-style (camelCase names); `null` leaves a directive out. */
export type CspDirectives = Record<string, string[] | null>;

export interface SecurityHeaderOptions {
  directives: CspDirectives;
  /** Every other helmet option (HSTS, frameguard, referrer policy…); its CSP option is ignored. */
  helmet: HelmetOptions;
}

export interface CspNonces {
  script: string;
  style: string;
}

export interface SecurityHeaders {
  /** Header name (lower case) → value, for every response; the CSP here names no nonce. */
  readonly headers: Readonly<Record<string, string>>;
  /** The CSP of a page whose inline scripts and styles carry these nonces. */
  cspWithNonces(nonces: CspNonces): string;
}

export const HSTS_MAX_AGE_SECONDS = 31_536_000;

/** This app's policy: DEBUG (plain-HTTP development) leaves out HSTS and upgrade-insecure-requests. */
export function securityPolicy(debug: boolean): SecurityHeaderOptions {
  return {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
      scriptSrcAttr: ["'none'"],
      upgradeInsecureRequests: debug ? null : [],
    },
    helmet: {
      hsts: debug ? false : { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true },
      referrerPolicy: { policy: 'same-origin' },
      frameguard: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
    },
  };
}

// Stand-ins helmet accepts as nonce sources; replaced by the real nonces per page.
const SCRIPT_NONCE = 'SCRIPTNONCE0placeholder';
const STYLE_NONCE = 'STYLENONCE0placeholder';

/** Runs helmet once against a response that records what it sets. */
function recordHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return headers;
}

/** Computes the headers once; throws (at start-up) on an invalid policy, as helmet does. */
export function computeSecurityHeaders(options: SecurityHeaderOptions): SecurityHeaders {
  const { directives } = options;
  const withPolicy = (policy: object) =>
    ({ ...options.helmet, contentSecurityPolicy: policy }) as HelmetOptions;
  const headers = recordHeaders(withPolicy({ directives }));
  const template = recordHeaders(
    withPolicy({
      directives: {
        ...directives,
        scriptSrc: [...(directives.scriptSrc ?? []), `'nonce-${SCRIPT_NONCE}'`],
        styleSrc: [...(directives.styleSrc ?? []), `'nonce-${STYLE_NONCE}'`],
      },
    }),
  )['content-security-policy'];
  if (template === undefined || !template.includes(SCRIPT_NONCE) || !template.includes(STYLE_NONCE))
    throw new TypeError('the Content-Security-Policy must allow nonces for scripts and styles');
  return {
    headers: Object.freeze(headers),
    cspWithNonces: ({ script, style }) => template.replace(SCRIPT_NONCE, script).replace(STYLE_NONCE, style),
  };
}

/** A fresh pair of 128-bit nonces (hex, like helmet's). */
export function createCspNonces(): CspNonces {
  const hex = randomBytes(32).toString('hex');
  return { script: hex.slice(0, 32), style: hex.slice(32) };
}
