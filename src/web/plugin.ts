import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { registerErrorHandlers } from './errors.ts';
import { registerForms } from './forms.ts';
import { CrossOriginRequestError, isAllowedOrigin, originFacts } from './origin-check.ts';
import { cspDirectives, HSTS_MAX_AGE_SECONDS } from './security-headers.ts';
import { registerViews } from './views.ts';

const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * Everything between the socket and the features: cookies, form bodies (urlencoded and
 * multipart), security headers with a per-request CSP nonce, CSRF tokens, Nunjucks views
 * (autoescaped), static files, error pages.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const { config } = opts;
    await app.register(cookie, { secret: config.secretKey });
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
    await registerForms(app, { secure: !config.debug });
    await registerViews(app, { debug: config.debug, initialUsers: config.initialUsers });

    await app.register(fastifyStatic, { root: PUBLIC, prefix: '/static/', dotfiles: 'ignore', index: false });
    // Browsers ask for it on every site; an empty answer keeps 404 noise out of consoles and logs.
    app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(204).header('cache-control', 'public, max-age=86400').send(),
    );
    registerErrorHandlers(app);
  },
  { name: 'web' },
);
