import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { isSameOriginNavigation } from '../web/origin-check.ts';
import { safeRedirectPath } from '../web/redirects.ts';
import {
  badInput,
  csrfRefused,
  errorResponse,
  FORM_CONTENT_TYPES,
  htmlPage,
  noContent,
  redirect,
  SIGNED_IN,
} from '../web/schemas.ts';
import { clearAuthCookie, readToken } from './cookies.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import { clientInfo, currentUser, setSessionCookie } from './plugin.ts';
import { MeBody, notSignedIn, RefreshedBody, TokenBody, throttled } from './schemas.ts';

const LOGIN_ERROR = 'Invalid username or password';
/** The same words whichever limit (account or address) was hit, so neither is revealed. */
const throttledMessage = (seconds: number) =>
  `Too many failed logins. Try again in ${seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`}.`;
const HOME = '/protected';
/** Where a page (SSEXI.js, on the stream's `renew` event) or a bearer client renews its session. */
export const SESSION_REFRESH_URL = '/api/session/refresh';

const Credentials = Type.Object({
  username: Type.String({ maxLength: 150 }),
  password: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
});
const LoginForm = Type.Intersect([
  Credentials,
  Type.Object({
    next: Type.Optional(Type.String({ maxLength: 2048 })),
    /** The "Remember me" checkbox: present (any value) for a persistent cookie. */
    remember: Type.Optional(Type.String({ maxLength: 16 })),
    _csrf: Type.Optional(Type.String()),
  }),
]);
type LoginForm = Static<typeof LoginForm>;
type Credentials = Static<typeof Credentials>;
const NextQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2048 })),
  /** Set by the password-reset page's redirect: the login form says the password was changed. */
  reset: Type.Optional(Type.String({ maxLength: 8 })),
});
type NextQuery = Static<typeof NextQuery>;

/** Login and logout, for forms (cookie) and for API clients (bearer token). */
export default async function authRoutes(app: FastifyInstance, opts: { config: Config }) {
  const secure = !opts.config.debug;
  const auth = app.auth;

  /** Throttle (counts the attempt) → credential check → success taken back off the count → session. */
  const attemptLogin = async (
    request: FastifyRequest,
    username: string,
    password: string,
    persistent: boolean,
  ) => {
    const attempt = { username, ip: request.ip };
    const retryAfter = await app.loginThrottle.begin(attempt);
    if (retryAfter !== null) return { kind: 'throttled', retryAfter } as const;
    const client = clientInfo(request);
    const user = await auth.verifyCredentials(username, password, client);
    if (!user) return { kind: 'invalid' } as const;
    await app.loginThrottle.succeeded(attempt);
    return { kind: 'ok', user, issued: await auth.startSession(user, client, persistent) } as const;
  };

  const renderLogin = (
    reply: FastifyReply,
    params: { error?: string; username?: string; next?: string | null; notice?: string | null },
  ) =>
    reply.view('login.njk', {
      error: null,
      username: '',
      next: null,
      notice: null,
      ...params,
    });

  app.get<{ Querystring: NextQuery }>(
    '/login',
    {
      schema: {
        summary: 'The login form',
        tags: ['pages'],
        querystring: NextQuery,
        response: { 200: htmlPage('The form'), 302: redirect('Already signed in: to `next` or /protected') },
      },
    },
    async (request, reply) => {
      const next = safeRedirectPath(request.query.next);
      if (request.user) return reply.redirect(next ?? HOME);
      const notice =
        request.query.reset === undefined ? null : 'Your password was changed. Log in with the new one.';
      return renderLogin(reply, { next, notice });
    },
  );

  app.post<{ Body: LoginForm }>(
    '/login',
    {
      schema: {
        summary: 'Sign in with the form',
        description: 'Sets the `access_token` cookie (HttpOnly, SameSite=Lax) and redirects.',
        tags: ['pages'],
        consumes: FORM_CONTENT_TYPES,
        body: LoginForm,
        response: {
          302: redirect('Signed in: to `next` or /protected'),
          400: badInput,
          401: htmlPage('The form again, with one generic error'),
          403: csrfRefused,
          429: htmlPage('The form again: too many failed logins (see Retry-After)'),
        },
      },
      preHandler: app.csrfProtection,
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const next = safeRedirectPath(request.body.next);
      const persistent = request.body.remember !== undefined;
      const result = await attemptLogin(request, username, password, persistent);
      if (result.kind === 'throttled') {
        reply.code(429).header('retry-after', String(result.retryAfter));
        return renderLogin(reply, { error: throttledMessage(result.retryAfter), username, next });
      }
      if (result.kind === 'invalid')
        return renderLogin(reply.code(401), { error: LOGIN_ERROR, username, next });
      setSessionCookie(reply, result.issued.token, result.issued.claims.exp, persistent, secure);
      return reply.redirect(next ?? HOME, 302);
    },
  );

  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.user) await auth.logout(request.user);
    clearAuthCookie(reply, secure);
    return reply.redirect('/login', 302);
  };
  // A GET that changes state: acted on only for our own pages' links (or a typed URL), so an
  // <img src> or a link on another site cannot log a user out. Anyone else is asked to confirm
  // with a POST form carrying a CSRF token.
  const loggedOut = redirect('Signed out (token revoked, streams ended): to /login');
  app.get(
    '/logout',
    {
      schema: {
        summary: 'Sign out (link)',
        description: 'Acts for links on this site; a link from elsewhere gets a confirmation form.',
        tags: ['pages'],
        response: { 200: htmlPage('The confirmation form'), 302: loggedOut },
      },
    },
    async (request, reply) => {
      if (!request.user || isSameOriginNavigation(request)) return logout(request, reply);
      return reply.header('cache-control', 'no-store').view('logout-confirm.njk');
    },
  );
  app.post(
    '/logout',
    {
      schema: {
        summary: 'Sign out (form)',
        tags: ['pages'],
        consumes: FORM_CONTENT_TYPES,
        response: { 302: loggedOut, 403: csrfRefused },
      },
      preHandler: app.csrfProtection,
    },
    logout,
  );
  app.post(
    '/logout/all',
    {
      schema: {
        summary: 'Log out everywhere',
        description: 'Ends every session of the user, on every device, and their streams.',
        tags: ['pages'],
        consumes: FORM_CONTENT_TYPES,
        security: SIGNED_IN,
        response: { 302: redirect('To /login (anonymous callers too)'), 403: csrfRefused },
      },
      preHandler: [app.requirePageUser, app.csrfProtection],
    },
    async (request, reply) => {
      await auth.logoutEverywhere(currentUser(request).username);
      clearAuthCookie(reply, secure);
      return reply.redirect('/login', 302);
    },
  );

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
      const result = await attemptLogin(request, request.body.username, request.body.password, false);
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
