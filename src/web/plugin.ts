import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import view from '@fastify/view';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import nunjucks from 'nunjucks';
import type { Config } from '../config.ts';
import { registerErrorHandlers } from './errors.ts';
import { CrossOriginRequestError, isAllowedOrigin, isSafeMethod, originFacts } from './origin-check.ts';
import { type CspNonces, createCspNonces, type SecurityHeaders } from './security-headers.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The headers every response carries (for answers written outside the request hooks). */
    securityHeaders: SecurityHeaders;
  }
  interface FastifyReply {
    /** Per-request template context merged by @fastify/view (its types omit it). */
    locals: Record<string, unknown>;
    /** This page's CSP nonces; the first read makes them and puts them in its CSP header. */
    readonly cspNonce: CspNonces;
  }
}

// Per-reply slots behind the lazy `cspNonce` and `locals` (declared once, so replies keep one shape).
const kNonces = Symbol('cspNonces');
const kLocals = Symbol('locals');
type ReplySlots = FastifyReply & { [kNonces]: CspNonces | null; [kLocals]: Record<string, unknown> | null };

/** The context every view gets without its handler passing it; the CSRF token is made on demand. */
function viewLocals(reply: FastifyReply): Record<string, unknown> {
  let token: string | undefined;
  return {
    cspNonce: reply.cspNonce.script,
    csrfToken: () => {
      token ??= reply.generateCsrf();
      return token;
    },
    user: reply.request.user,
  };
}

const VIEWS = fileURLToPath(new URL('./views/', import.meta.url));
const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * Everything between the socket and the features: cookies, form bodies, security headers (CSP
 * nonces on pages), CSRF tokens, Nunjucks views (autoescaped), static files, error pages.
 */
export default fp(
  async (app, opts: { config: Config; securityHeaders: SecurityHeaders }) => {
    const { config } = opts;
    await app.register(cookie, { secret: config.secretKey });
    await app.register(formbody);
    const security = opts.securityHeaders;
    app.decorate('securityHeaders', security);
    app.decorateReply(kNonces, null);
    app.decorateReply('cspNonce', {
      getter(this: FastifyReply) {
        const reply = this as ReplySlots;
        if (reply[kNonces] === null) {
          reply[kNonces] = createCspNonces();
          reply.header('content-security-policy', security.cspWithNonces(reply[kNonces]));
        }
        return reply[kNonces];
      },
    });
    // Declared before @fastify/view registers, so it adds no per-request hook of its own.
    app.decorateReply(kLocals, null);
    app.decorateReply('locals', {
      getter(this: FastifyReply) {
        const reply = this as ReplySlots;
        reply[kLocals] ??= viewLocals(reply);
        return reply[kLocals];
      },
      setter(this: FastifyReply, value: Record<string, unknown>) {
        (this as ReplySlots)[kLocals] = value;
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
    await app.register(fastifyStatic, { root: PUBLIC, prefix: '/static/', dotfiles: 'ignore', index: false });
    // Browsers ask for it on every site; an empty answer keeps 404 noise out of consoles and logs.
    app.get('/favicon.ico', async (_request, reply) =>
      reply.code(204).header('cache-control', 'public, max-age=86400').send(),
    );
    registerErrorHandlers(app);
  },
  { name: 'web' },
);
