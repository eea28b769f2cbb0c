import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { isSameOriginNavigation } from '../web/origin-check.ts';
import { safeRedirectPath } from '../web/redirects.ts';
import { clearAuthCookie, setAuthCookie } from './cookies.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import { currentUser } from './plugin.ts';

const LOGIN_ERROR = 'Invalid username or password';
/** The same words whichever limit (account or address) was hit, so neither is revealed. */
const throttledMessage = (seconds: number) =>
  `Too many failed logins. Try again in ${seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`}.`;
const HOME = '/protected';

const Credentials = Type.Object({
  username: Type.String({ maxLength: 150 }),
  password: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
});
const LoginForm = Type.Intersect([
  Credentials,
  Type.Object({ next: Type.Optional(Type.String({ maxLength: 2048 })), _csrf: Type.Optional(Type.String()) }),
]);
type LoginForm = Static<typeof LoginForm>;
type Credentials = Static<typeof Credentials>;
const NextQuery = Type.Object({ next: Type.Optional(Type.String({ maxLength: 2048 })) });
type NextQuery = Static<typeof NextQuery>;

/** Login and logout, for forms (cookie) and for API clients (bearer token). */
export default async function authRoutes(app: FastifyInstance, opts: { config: Config }) {
  const secure = !opts.config.debug;
  const auth = app.auth;
  const logins = app.metrics.counter('auth_logins_total', 'Login attempts by result', ['result']);

  /** Throttle (counts the attempt) → credential check → success taken back off the count. */
  const attemptLogin = async (request: FastifyRequest, username: string, password: string) => {
    const attempt = { username, ip: request.ip };
    const retryAfter = await app.loginThrottle.begin(attempt);
    if (retryAfter !== null) {
      logins.inc({ result: 'throttled' });
      return { kind: 'throttled', retryAfter } as const;
    }
    const result = await auth.login(username, password);
    if (!result) {
      logins.inc({ result: 'failure' });
      return { kind: 'invalid' } as const;
    }
    await app.loginThrottle.succeeded(attempt);
    logins.inc({ result: 'success' });
    return { kind: 'ok', ...result } as const;
  };

  const renderLogin = (
    reply: FastifyReply,
    params: { error?: string; username?: string; next?: string | null },
  ) => reply.view('login.njk', { error: null, username: '', next: null, ...params });

  app.get<{ Querystring: NextQuery }>(
    '/login',
    { schema: { querystring: NextQuery } },
    async (request, reply) => {
      const next = safeRedirectPath(request.query.next);
      if (request.user) return reply.redirect(next ?? HOME);
      return renderLogin(reply, { next });
    },
  );

  app.post<{ Body: LoginForm }>(
    '/login',
    { schema: { body: LoginForm }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const { username, password } = request.body;
      const next = safeRedirectPath(request.body.next);
      const result = await attemptLogin(request, username, password);
      if (result.kind === 'throttled') {
        reply.code(429).header('retry-after', String(result.retryAfter));
        return renderLogin(reply, { error: throttledMessage(result.retryAfter), username, next });
      }
      if (result.kind === 'invalid')
        return renderLogin(reply.code(401), { error: LOGIN_ERROR, username, next });
      setAuthCookie(reply, result.issued.token, auth.tokenLifetimeSeconds, secure);
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
    const result = await attemptLogin(request, request.body.username, request.body.password);
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

  app.get('/api/me', { preHandler: app.requireApiUser }, async (request) => {
    const user = currentUser(request);
    return { id: user.id, username: user.username, expires_at: user.expiresAt };
  });
}
