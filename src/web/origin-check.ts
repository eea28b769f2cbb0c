/**
 * Cross-origin request protection, the second CSRF layer (the first is the per-form token from
 * @fastify/csrf-protection, the third is the SameSite=Lax session cookie).
 *
 * Model: a browser tells us where a request comes from. `Sec-Fetch-Site` (every current browser)
 * says whether the initiating page is same-origin; older browsers still send `Origin` on every
 * POST. A state-changing request whose initiator is another site — including a sibling
 * subdomain (`same-site`), which may be attacker-controlled — is refused before its body is even
 * parsed. The algorithm follows Go 1.25's `http.CrossOriginProtection` and Filippo Valsorda's
 * write-up of it:
 * 1. safe methods (GET, HEAD, OPTIONS) pass: they must not change state, and routes keep to that;
 * 2. `Sec-Fetch-Site: same-origin | none` passes (`none` = typed URL/bookmark, user-initiated);
 *    any other value is refused;
 * 3. without it, an `Origin` whose host differs from the request's `Host` is refused;
 * 4. with neither header the request is not from a (modern) browser and passes — curl and servers
 *    cannot carry a victim's cookie, and the form token still applies.
 * Requests carrying `Authorization` are exempt: a page on another site cannot set that header
 * without a CORS preflight we never answer, and such requests authenticate by that header only
 * (see `readToken`), never by the cookie. A cookie-authenticated JSON request gets no exemption.
 *
 * Hosts, not full origins, are compared (as Go does) so a TLS-terminating proxy that forwards
 * plain HTTP does not break every form; the scheme is not what an attacker controls here.
 */
import type { FastifyRequest } from 'fastify';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refusal of a state-changing request initiated by another site. */
export class CrossOriginRequestError extends Error {
  readonly statusCode = 403;
  readonly code = 'CROSS_ORIGIN_REQUEST';
  constructor() {
    super('Cross-origin request refused');
    this.name = 'CrossOriginRequestError';
  }
}

export interface RequestOriginFacts {
  method: string;
  /** The `Host` the request was sent to (with port), as the server sees it. */
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  hasAuthorization: boolean;
}

/** GET, HEAD and OPTIONS: methods that must not change state, so any site may send them. */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** True when the request may proceed; false when another site initiated a state change. */
export function isAllowedOrigin(facts: RequestOriginFacts): boolean {
  if (isSafeMethod(facts.method)) return true;
  if (facts.hasAuthorization) return true;
  if (facts.secFetchSite !== undefined) {
    const site = facts.secFetchSite.toLowerCase();
    return site === 'same-origin' || site === 'none';
  }
  if (facts.origin === undefined) return true;
  return facts.host !== undefined && originHost(facts.origin) === facts.host.toLowerCase();
}

/** The `host[:port]` of an Origin header; null for `null` (sandboxed/privacy origins) or junk. */
function originHost(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host : null;
  } catch {
    return null;
  }
}

/** The facts `isAllowedOrigin` needs, read off a Fastify request. */
export function originFacts(request: FastifyRequest): RequestOriginFacts {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  return {
    method: request.method,
    host: request.host,
    origin: header('origin'),
    secFetchSite: header('sec-fetch-site'),
    hasAuthorization: request.headers.authorization !== undefined,
  };
}

/**
 * Whether a GET arrived as a navigation from one of our own pages (or typed by the user), for
 * the few GET routes that act — `GET /logout`. A cross-site link gets a confirmation page
 * instead. Browsers without Sec-Fetch-Site fall back to a same-origin `Referer` (our
 * Referrer-Policy `same-origin` keeps it on our own links); with neither, we do not act.
 */
export function isSameOriginNavigation(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const referer = request.headers.referer;
  return typeof referer === 'string' && originHost(referer) === request.host.toLowerCase();
}
