import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { isSameOriginNavigation } from '../web/origin-check.ts';
import { safeRedirectPath } from '../web/redirects.ts';
import { clearAuthCookie, readToken } from './cookies.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import { clientInfo, currentUser, setSessionCookie } from './plugin.ts';

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

const ErrorBody = Type.Object({ error: Type.String() }, { examples: [{ error: 'Not authenticated' }] });
const meSchema = {
  description: 'The signed-in caller (bearer token or cookie).',
  tags: ['auth'],
  response: {
    200: Type.Object(
      {
        id: Type.Integer(),
        username: Type.String(),
        email: Type.Union([Type.String(), Type.Null()], { description: 'Lower-cased; null when none' }),
        email_verified: Type.Boolean(),
        expires_at: Type.Integer({ description: 'Unix seconds: when the presented token expires' }),
      },
      {
        examples: [
          {
            id: 1,
            username: 'mark',
            email: 'mark@example.com',
            email_verified: true,
            expires_at: 1767229200,
          },
        ],
      },
    ),
    401: { ...ErrorBody, description: 'Not signed in' },
  },
};
const refreshSchema = {
  description:
    'Renews the caller’s session (sliding expiry, never past SESSION_MAX_AGE_DAYS): a token for the same session ' +
    'expiring a full ACCESS_TOKEN_EXPIRE_HOURS from now; cookie callers also get the new cookie.',
  tags: ['auth'],
  response: {
    200: Type.Object(
      {
        access_token: Type.String(),
        token_type: Type.Literal('bearer'),
        expires_at: Type.Integer({ description: 'Unix seconds' }),
      },
      {
        examples: [{ access_token: 'eyJhbGciOiJIUzI1NiJ9.…', token_type: 'bearer', expires_at: 1767232800 }],
      },
    ),
    401: { ...ErrorBody, description: 'Not signed in, or the session is over' },
  },
};

/** Login and logout, for forms (cookie) and for API clients (bearer token). */
export default async function authRoutes(app: FastifyInstance, opts: { config: Config }) {
  const secure = !opts.config.debug;
  const auth = app.auth;
  const logins = app.metrics.counter('auth_logins_total', 'Login attempts by result', ['result']);

  /** Throttle (counts the attempt) → credential check → success taken back off the count → session. */
  const attemptLogin = async (
    request: FastifyRequest,
    username: string,
    password: string,
    persistent: boolean,
  ) => {
    const attempt = { username, ip: request.ip };
    const retryAfter = await app.loginThrottle.begin(attempt);
    if (retryAfter !== null) {
      logins.inc({ result: 'throttled' });
      return { kind: 'throttled', retryAfter } as const;
    }
    const client = clientInfo(request);
    const user = await auth.verifyCredentials(username, password, client);
    if (!user) {
      logins.inc({ result: 'failure' });
      return { kind: 'invalid' } as const;
    }
    await app.loginThrottle.succeeded(attempt);
    logins.inc({ result: 'success' });
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
      allowRegistration: opts.config.allowRegistration,
      ...params,
    });

  app.get<{ Querystring: NextQuery }>(
    '/login',
    { schema: { querystring: NextQuery } },
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
    { schema: { body: LoginForm }, preHandler: app.csrfProtection },
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
  app.get('/logout', async (request, reply) => {
    if (!request.user || isSameOriginNavigation(request)) return logout(request, reply);
    return reply.header('cache-control', 'no-store').view('logout-confirm.njk');
  });
  app.post('/logout', { preHandler: app.csrfProtection }, logout);
  app.post(
    '/logout/all',
    { preHandler: [app.requirePageUser, app.csrfProtection] },
    async (request, reply) => {
      await auth.logoutEverywhere(currentUser(request).username);
      clearAuthCookie(reply, secure);
      return reply.redirect('/login', 302);
    },
  );

  app.post<{ Body: Credentials }>('/api/login', { schema: { body: Credentials } }, async (request, reply) => {
    const result = await attemptLogin(request, request.body.username, request.body.password, false);
    if (result.kind === 'throttled')
      return reply
        .code(429)
        .header('retry-after', String(result.retryAfter))
        .send({ error: throttledMessage(result.retryAfter) });
    if (result.kind === 'invalid') return reply.code(401).send({ error: LOGIN_ERROR });
    return { access_token: result.issued.token, token_type: 'bearer', username: result.user.username };
  });

  // Bearer clients revoke their own token; cookie callers pass the Origin check like any POST.
  app.post('/api/logout', { preHandler: app.requireApiUser }, async (request, reply) => {
    await auth.logout(currentUser(request));
    return reply.code(204).send();
  });

  app.get('/api/me', { schema: meSchema, preHandler: app.requireApiUser }, async (request) => {
    const user = currentUser(request);
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      email_verified: user.emailVerified,
      expires_at: user.expiresAt,
    };
  });

  // Sliding expiry for clients that cannot wait for a page load to renew: a bearer client, or a
  // page that only holds a stream (SSEXI.js posts here on the stream's `renew` event). Same
  // session, a token a full lifetime from now (never past the session's cap). Cookie callers get
  // the new cookie; everyone gets the token. Not CSRF-token protected: it changes nothing but
  // the caller's own expiry, and the Origin check still refuses other sites.
  app.post(
    SESSION_REFRESH_URL,
    { schema: refreshSchema, preHandler: app.requireApiUser },
    async (request, reply) => {
      const user = currentUser(request);
      const cookieAuth = request.headers.authorization === undefined;
      const renewed = (await auth.renew(user, { asked: true })) ?? null;
      const token = renewed?.token ?? readToken(request) ?? '';
      const exp = renewed?.claims.exp ?? user.expiresAt;
      if (renewed && cookieAuth) setSessionCookie(reply, renewed.token, exp, user.session.persistent, secure);
      return { access_token: token, token_type: 'bearer', expires_at: exp };
    },
  );
}
