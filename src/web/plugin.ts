import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { registerErrorHandlers } from './errors.ts';
import { registerForms } from './forms.ts';
import { CrossOriginRequestError, isAllowedOrigin, isSafeMethod, originFacts } from './origin-check.ts';
import { type CspNonces, createCspNonces, type SecurityHeaders } from './security-headers.ts';
import { registerViews } from './views.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The headers every response carries (for answers written outside the request hooks). */
    securityHeaders: SecurityHeaders;
  }
  interface FastifyReply {
    /** This page's CSP nonces; the first read makes them and puts them in its CSP header. */
    readonly cspNonce: CspNonces;
  }
}

const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

// The per-reply slot behind the lazy `cspNonce` (declared once, so replies keep one shape).
const kNonces = Symbol('cspNonces');
type WithNonces = FastifyReply & { [kNonces]: CspNonces | null };

/**
 * Everything between the socket and the features: cookies, form bodies (urlencoded and
 * multipart), security headers (computed once; CSP nonces on pages), CSRF tokens, Nunjucks views
 * (autoescaped), static files, error pages.
 */
export default fp(
  async (app, opts: { config: Config; securityHeaders: SecurityHeaders }) => {
    const { config, securityHeaders: security } = opts;
    await app.register(cookie, { secret: config.secretKey });
    app.decorate('securityHeaders', security);
    app.decorateReply(kNonces, null);
    app.decorateReply('cspNonce', {
      getter(this: FastifyReply) {
        const reply = this as WithNonces;
        if (reply[kNonces] === null) {
          reply[kNonces] = createCspNonces();
          reply.header('content-security-policy', security.cspWithNonces(reply[kNonces]));
        }
        return reply[kNonces];
      },
    });
    // One synchronous hook for every request, before auth and body parsing: the security headers
    // first (so even a refusal carries them), then the cross-origin check, which refuses a
    // cross-site state change before anything acts on it.
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(security.headers);
      if (!isSafeMethod(request.method) && !isAllowedOrigin(originFacts(request)))
        return done(new CrossOriginRequestError());
      done();
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
