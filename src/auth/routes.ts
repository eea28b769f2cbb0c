import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { safeRedirectPath } from '../web/redirects.ts';
import { clearAuthCookie, setAuthCookie } from './cookies.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import { currentUser } from './plugin.ts';

const LOGIN_ERROR = 'Invalid username or password';
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
      const result = await auth.login(username, password);
      if (!result) return renderLogin(reply.code(401), { error: LOGIN_ERROR, username, next });
      setAuthCookie(reply, result.issued.token, auth.tokenLifetimeSeconds, secure);
      return reply.redirect(next ?? HOME, 302);
    },
  );

  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.user) await auth.logout(request.user);
    clearAuthCookie(reply, secure);
    return reply.redirect('/login', 302);
  };
  app.get('/logout', logout);
  app.post('/logout', { preHandler: app.csrfProtection }, logout);

  app.post<{ Body: Credentials }>('/api/login', { schema: { body: Credentials } }, async (request, reply) => {
    const result = await auth.login(request.body.username, request.body.password);
    if (!result) return reply.code(401).send({ error: LOGIN_ERROR });
    return { access_token: result.issued.token, token_type: 'bearer', username: result.user.username };
  });

  app.get('/api/me', { preHandler: app.requireApiUser }, async (request) => {
    const user = currentUser(request);
    return { id: user.id, username: user.username, expires_at: user.expiresAt };
  });
}
