import type { FastifyReply, FastifyRequest } from 'fastify';

/** Same name as the Python template, so both apps on one site share the session. */
export const AUTH_COOKIE = 'access_token';

/**
 * The one place the session cookie is written: HttpOnly (no script can read it), SameSite=Lax
 * (not sent on cross-site subrequests or POSTs), Path=/, Secure outside DEBUG (plain-HTTP
 * localhost development keeps working). `maxAgeSeconds` null makes a browser-session cookie
 * (no "remember me"); a number, a persistent one that lives as long as its token.
 * Written as a header rather than through `reply.setCookie` (which writes in an onSend hook), so
 * a renewal also reaches the browser on a hijacked reply: an event stream's headers.
 */
export function setAuthCookie(
  reply: FastifyReply,
  token: string,
  maxAgeSeconds: number | null,
  secure: boolean,
): void {
  const cookie = reply.server.serializeCookie(AUTH_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    ...(maxAgeSeconds === null ? {} : { maxAge: Math.max(0, maxAgeSeconds) }),
    secure,
  });
  const existing = reply.getHeader('set-cookie');
  const others = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  reply.header('set-cookie', [...others.filter((c) => !c.startsWith(`${AUTH_COOKIE}=`)), cookie]);
}

export function clearAuthCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(AUTH_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/', secure });
}

/**
 * The presented token: `Authorization: Bearer …` first (API clients), else the cookie. The
 * Python template's cookie may carry a `Bearer ` prefix, possibly quoted; all forms are accepted.
 */
export function readToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1] ?? null;
  }
  const cookie = request.cookies[AUTH_COOKIE];
  if (!cookie) return null;
  // A value with a space is sent quoted (RFC 6265 quoted cookie-value) by Python frameworks.
  return cookie.replace(/^"(.*)"$/, '$1').replace(/^Bearer\s+/i, '');
}
