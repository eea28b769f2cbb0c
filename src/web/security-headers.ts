/**
 * The browser security policy, in one definition, as two header sets: the headers set on
 * responses Fastify builds (plugin.ts) and on the answers written straight to the socket, which no
 * hook ever sees (client-errors.ts).
 *
 * helmet decides every value — its defaults, our Content-Security-Policy, HSTS outside DEBUG —
 * but its middleware rebuilds and re-validates the whole policy on each call, which cost more than
 * the rest of a JSON answer. So it runs once, at start-up, against a response that only records
 * headers.
 *
 * Two sets, because most of helmet's headers only mean something on a document a browser renders
 * (framing, DNS prefetching, cross-origin isolation, the CSP's sources), and each header costs
 * every response its share of Fastify's and Node's work:
 * - `document`, helmet's full set: HTML pages, the API docs, static files (any of which a browser
 *   may open as a document).
 * - `resource`, for everything else (JSON, streams, redirects, empty answers, errors in JSON):
 *   a CSP that allows nothing (`default-src 'none'`) and no framing, so an answer opened directly
 *   as a document can run and load nothing; `nosniff` and the same-origin resource policy, so
 *   another site cannot read it as a script, style or image; and the document set's referrer
 *   policy and HSTS, taken from it so the policy lives in one place.
 *
 * Nonces: HTML pages need one to run their own scripts and styles under `script-src`/`style-src`
 * without `'unsafe-inline'`. A page gets a fresh pair of nonces when it asks for one (rendering a
 * view does), and its CSP names them; other documents keep the policy without nonces, which
 * allows strictly less.
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
  /** Header name (lower case) → value, for a document; the CSP here names no nonce. */
  readonly document: Readonly<Record<string, string>>;
  /** Header name (lower case) → value, for every response that is not a document. */
  readonly resource: Readonly<Record<string, string>>;
  /** What turns the resource set into the document set: the headers only a document has. */
  readonly documentOnly: readonly (readonly [name: string, value: string])[];
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

/** A response that is no document allows nothing and cannot be framed, whatever pages need. */
export const RESOURCE_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The document headers that also protect a resource (the CSP is the resource's own). */
const RESOURCE_HEADERS = [
  'x-content-type-options',
  'cross-origin-resource-policy',
  'referrer-policy',
  'strict-transport-security',
] as const;

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

/** The resource set: its own CSP, the rest copied from the document set (those it has). */
function resourceHeaders(document: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { 'content-security-policy': RESOURCE_CSP };
  for (const name of RESOURCE_HEADERS) {
    const value = document[name];
    if (value !== undefined) headers[name] = value;
  }
  return headers;
}

/** Computes both sets once; throws (at start-up) on an invalid policy, as helmet does. */
export function computeSecurityHeaders(options: SecurityHeaderOptions): SecurityHeaders {
  const { directives } = options;
  const withPolicy = (policy: object) =>
    ({ ...options.helmet, contentSecurityPolicy: policy }) as HelmetOptions;
  const document = recordHeaders(withPolicy({ directives }));
  const resource = resourceHeaders(document);
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
    document: Object.freeze(document),
    resource: Object.freeze(resource),
    documentOnly: Object.freeze(
      Object.entries(document)
        .filter(([name]) => !(name in resource))
        .map(([name, value]) => Object.freeze([name, value] as const)),
    ),
    cspWithNonces: ({ script, style }) => template.replace(SCRIPT_NONCE, script).replace(STYLE_NONCE, style),
  };
}

/** A fresh pair of 128-bit nonces (hex, like helmet's). */
export function createCspNonces(): CspNonces {
  const hex = randomBytes(32).toString('hex');
  return { script: hex.slice(0, 32), style: hex.slice(32) };
}
