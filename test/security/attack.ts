/**
 * Tools for the adversarial suite: hand-made JWTs (no library, so nothing "helpfully" refuses
 * to build a malicious one) and probes that ask the running server whether a credential opens
 * the page, the API and the stream.
 */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';

const b64url = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT with any header and payload, signed with HMAC (`HS256`/`HS512`), RSA, or not at all. */
export function forgeToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signing: { hmac: 'sha256' | 'sha512'; key: string } | { rsa: true } | { none: true },
): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  if ('none' in signing) return `${input}.`;
  if ('rsa' in signing) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  }
  return `${input}.${createHmac(signing.hmac, signing.key).update(input).digest('base64url')}`;
}

/** An HS256 token as the app (or the Python template, without iat/jti) would sign it. */
export function signHs256(secret: string, payload: Record<string, unknown>): string {
  return forgeToken({ alg: 'HS256', typ: 'JWT' }, payload, { hmac: 'sha256', key: secret });
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface AccessReport {
  /** GET /protected with the token as the session cookie: 200, or 302 to the login form. */
  page: number;
  /** GET /api/me with `Authorization: Bearer`. */
  api: number;
  /** GET /api/me with the token as the cookie. */
  apiCookie: number;
  /** GET /protected/events/:username with `Authorization: Bearer`. */
  stream: number;
}

/** What a token opens, probed over HTTP. Streams that open are closed at once. */
export async function probeAccess(base: string, token: string, username = 'mark'): Promise<AccessReport> {
  const cookie = { cookie: `access_token=${token}` };
  const bearer = { authorization: `Bearer ${token}` };
  const page = await fetch(`${base}/protected`, { headers: cookie, redirect: 'manual' });
  const api = await fetch(`${base}/api/me`, { headers: bearer });
  const apiCookie = await fetch(`${base}/api/me`, { headers: cookie });
  const controller = new AbortController();
  const stream = await fetch(`${base}/protected/events/${username}`, {
    headers: { ...bearer, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  controller.abort();
  await Promise.all([page.text(), api.text(), apiCookie.text()]);
  return { page: page.status, api: api.status, apiCookie: apiCookie.status, stream: stream.status };
}

export const GRANTED: AccessReport = { page: 200, api: 200, apiCookie: 200, stream: 200 };
export const DENIED: AccessReport = { page: 302, api: 401, apiCookie: 401, stream: 401 };

/** The security headers every response carries: what protects an answer that is no document. */
export const RESOURCE_HEADERS = [
  'content-security-policy',
  'cross-origin-resource-policy',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
];

/** The headers only documents (pages, the API docs, static files) carry. */
export const DOCUMENT_ONLY_HEADERS = [
  'cross-origin-opener-policy',
  'origin-agent-cluster',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

/** Response headers that carry a browser security policy (everything helmet-like sets). */
const SECURITY_HEADERS = [...RESOURCE_HEADERS, ...DOCUMENT_ONLY_HEADERS];

/** The CSP of a response that is no document: nothing may load or run, nobody may frame it. */
export const RESOURCE_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The security policy a response carries, comparable across responses: the CSP's per-response
 * nonces are removed (HTML pages get one, other responses need not), everything else as sent.
 */
export function securityPolicy(headers: Headers | Record<string, string>): Record<string, string> {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers[name] ?? null));
  const policy: Record<string, string> = {};
  for (const name of SECURITY_HEADERS) {
    const value = get(name);
    if (value === null) continue;
    policy[name] =
      name === 'content-security-policy'
        ? value
            .split(';')
            .map((d) =>
              d
                .trim()
                .split(/\s+/)
                .filter((s) => !s.startsWith("'nonce-"))
                .join(' '),
            )
            .filter((d) => d !== '')
            .sort()
            .join('; ')
        : value;
  }
  return policy;
}
