import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import { badInput, errorResponse, noContent, SIGNED_IN } from '../web/schemas.ts';
import { readToken } from './cookies.ts';
import { Credentials, createLoginAttempt, LOGIN_ERROR, throttledMessage } from './login.ts';
import { currentUser, setSessionCookie } from './plugin.ts';
import { MeBody, notSignedIn, RefreshedBody, TokenBody, throttled } from './schemas.ts';

/** Where a page (SSEXI.js, on the stream's `renew` event) or a bearer client renews its session. */
export const SESSION_REFRESH_URL = '/api/session/refresh';

/** Sign-in and out for API clients (bearer token), who am I, and session renewal. */
export default async function authApiRoutes(app: FastifyInstance, opts: { config: Config }) {
  const secure = !opts.config.debug;
  const auth = app.auth;
  const attemptLogin = createLoginAttempt(app);

  app.post<{ Body: Credentials }>(
    '/api/login',
    {
      schema: {
        summary: 'Sign in (API)',
        description:
          'Returns a bearer token for a new session. Failed attempts count towards the login throttle.',
        tags: ['auth'],
        body: Credentials,
        response: {
          200: TokenBody,
          400: badInput,
          401: errorResponse('Wrong username or password (one message for both)', LOGIN_ERROR),
          429: throttled,
        },
      },
    },
    async (request, reply) => {
      const result = await attemptLogin(request, request.body, false);
      if (result.kind === 'throttled')
        return reply
          .code(429)
          .header('retry-after', String(result.retryAfter))
          .send({ error: throttledMessage(result.retryAfter) });
      if (result.kind === 'invalid') return reply.code(401).send({ error: LOGIN_ERROR });
      return {
        access_token: result.issued.token,
        token_type: 'bearer' as const,
        username: result.user.username,
      };
    },
  );

  // Bearer clients revoke their own token; cookie callers pass the Origin check like any POST.
  app.post(
    '/api/logout',
    {
      schema: {
        summary: 'Sign out (API)',
        description: 'Revokes the presented token and ends its streams.',
        tags: ['auth'],
        security: SIGNED_IN,
        response: { 204: noContent('Signed out'), 401: notSignedIn },
      },
      preHandler: app.requireApiUser,
    },
    async (request, reply) => {
      await auth.logout(currentUser(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/me',
    {
      schema: {
        summary: 'Who am I',
        description: 'The signed-in caller (bearer token or cookie).',
        tags: ['auth'],
        security: SIGNED_IN,
        response: { 200: MeBody, 401: notSignedIn },
      },
      preHandler: app.requireApiUser,
    },
    async (request) => {
      const user = currentUser(request);
      return {
        id: user.id,
        username: user.username,
        email: user.email,
        email_verified: user.emailVerified,
        expires_at: user.expiresAt,
      };
    },
  );

  // Sliding expiry for clients that cannot wait for a page load to renew: a bearer client, or a
  // page that only holds a stream (SSEXI.js posts here on the stream's `renew` event). Same
  // session, a token a full lifetime from now (never past the session's cap). Cookie callers get
  // the new cookie; everyone gets the token. Not CSRF-token protected: it changes nothing but
  // the caller's own expiry, and the Origin check still refuses other sites.
  app.post(
    SESSION_REFRESH_URL,
    {
      schema: {
        summary: 'Renew the session',
        description:
          'Sliding expiry, never past SESSION_MAX_AGE_DAYS: a token for the same session expiring a full ' +
          'ACCESS_TOKEN_EXPIRE_HOURS from now; cookie callers also get the new cookie. SSEXI.js posts here ' +
          'on the stream’s `renew` event.',
        tags: ['auth'],
        security: SIGNED_IN,
        response: {
          200: RefreshedBody,
          401: errorResponse('Not signed in, or the session is over', 'Not authenticated'),
        },
      },
      preHandler: app.requireApiUser,
    },
    async (request, reply) => {
      const user = currentUser(request);
      const cookieAuth = request.headers.authorization === undefined;
      const renewed = (await auth.renew(user, { asked: true })) ?? null;
      const token = renewed?.token ?? readToken(request) ?? '';
      const exp = renewed?.claims.exp ?? user.expiresAt;
      if (renewed && cookieAuth) setSessionCookie(reply, renewed.token, exp, user.session.persistent, secure);
      return { access_token: token, token_type: 'bearer' as const, expires_at: exp };
    },
  );
}
