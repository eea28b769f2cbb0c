import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { isSameOriginNavigation } from '../web/origin-check.ts';
import { safeRedirectPath } from '../web/redirects.ts';
import { badInput, csrfRefused, FORM_CONTENT_TYPES, htmlPage, redirect, SIGNED_IN } from '../web/schemas.ts';
import { clearAuthCookie } from './cookies.ts';
import { Credentials, createLoginAttempt, LOGIN_ERROR, throttledMessage } from './login.ts';
import { currentUser, setSessionCookie } from './plugin.ts';

const HOME = '/protected';

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
const NextQuery = Type.Object({
  next: Type.Optional(Type.String({ maxLength: 2048 })),
  /** Set by the password-reset page's redirect: the login form says the password was changed. */
  reset: Type.Optional(Type.String({ maxLength: 8 })),
});
type NextQuery = Static<typeof NextQuery>;

/** Login and logout pages and forms (cookie); the API's are in api-routes.ts. */
export default async function authRoutes(app: FastifyInstance, opts: { config: Config }) {
  const secure = !opts.config.debug;
  const auth = app.auth;
  const attemptLogin = createLoginAttempt(app);

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
      const result = await attemptLogin(request, { username, password }, persistent);
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
}
