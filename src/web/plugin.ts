import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import view from '@fastify/view';
import fp from 'fastify-plugin';
import nunjucks from 'nunjucks';
import type { Config } from '../config.ts';
import { registerErrorHandlers } from './errors.ts';
import { CrossOriginRequestError, isAllowedOrigin, originFacts } from './origin-check.ts';
import { cspDirectives, HSTS_MAX_AGE_SECONDS } from './security-headers.ts';

declare module 'fastify' {
  interface FastifyReply {
    /** Per-request template context merged by @fastify/view (its types omit it). */
    locals: Record<string, unknown>;
  }
}

const VIEWS = fileURLToPath(new URL('./views/', import.meta.url));
const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * Everything between the socket and the features: cookies, form bodies, security headers with a
 * per-request CSP nonce, CSRF tokens, Nunjucks views (autoescaped), static files, error pages.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const { config } = opts;
    await app.register(cookie, { secret: config.secretKey });
    await app.register(formbody);
    await app.register(helmet, {
      enableCSPNonces: true,
      contentSecurityPolicy: { directives: cspDirectives(config.debug) },
      hsts: config.debug ? false : { maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true },
      referrerPolicy: { policy: 'same-origin' },
      frameguard: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
    });
    // After helmet (so even the refusal carries the security headers), before auth and body
    // parsing: a cross-site state change is refused before anything acts on it.
    app.addHook('onRequest', async (request) => {
      if (!isAllowedOrigin(originFacts(request))) throw new CrossOriginRequestError();
    });
    await app.register(csrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: '_csrf',
      cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/', secure: !config.debug },
    });

    const env = nunjucks.configure(VIEWS, {
      autoescape: true,
      throwOnUndefined: false,
      noCache: config.debug,
    });
    await app.register(view, { engine: { nunjucks }, templates: VIEWS, options: { env } });
    // Every view gets its CSP nonce and a CSRF token without each handler passing them; the
    // token (and its secret cookie) is only made when a template asks for it.
    app.addHook('preHandler', async (request, reply) => {
      let token: string | undefined;
      reply.locals = {
        cspNonce: reply.cspNonce?.script ?? '',
        csrfToken: () => {
          token ??= reply.generateCsrf();
          return token;
        },
        user: request.user,
      };
    });

    await app.register(fastifyStatic, { root: PUBLIC, prefix: '/static/', dotfiles: 'ignore', index: false });
    // Browsers ask for it on every site; an empty answer keeps 404 noise out of consoles and logs.
    app.get('/favicon.ico', async (_request, reply) =>
      reply.code(204).header('cache-control', 'public, max-age=86400').send(),
    );
    registerErrorHandlers(app);
  },
  { name: 'web' },
);
