import type { FastifyReply, FastifyRequest } from 'fastify';

/** Same name as the Python template, so both apps on one site share the session. */
export const AUTH_COOKIE = 'access_token';

/**
 * The one place the session cookie is written: HttpOnly (no script can read it), SameSite=Lax
 * (not sent on cross-site subrequests or POSTs), Path=/, Max-Age = token lifetime, Secure
 * outside DEBUG (plain-HTTP localhost development keeps working).
 */
export function setAuthCookie(
  reply: FastifyReply,
  token: string,
  maxAgeSeconds: number,
  secure: boolean,
): void {
  reply.setCookie(AUTH_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: maxAgeSeconds,
    secure,
  });
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
