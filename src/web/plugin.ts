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
    /** The two header sets (for answers written outside the request hooks). */
    securityHeaders: SecurityHeaders;
  }
  interface FastifyReply {
    /**
     * This page's CSP nonces; the first read makes them, puts them in its CSP header and marks
     * the reply a document.
     */
    readonly cspNonce: CspNonces;
    /**
     * Gives this reply the document's security headers (it has the resource's): every one it
     * does not have yet — a header the route set stays — and the document's CSP. For anything
     * a browser renders; a second call does nothing.
     */
    markDocument(): FastifyReply;
  }
}

const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));

// The per-reply slots behind the lazy `cspNonce` and `markDocument` (declared once, so replies
// keep one shape).
const kNonces = Symbol('cspNonces');
const kDocument = Symbol('document');
type PageReply = FastifyReply & { [kNonces]: CspNonces | null; [kDocument]: boolean };

/**
 * Everything between the socket and the features: cookies, form bodies (urlencoded and
 * multipart), security headers (computed once: the resource set on every reply, the document set
 * on what a browser renders; CSP nonces on pages), CSRF tokens, Nunjucks views (autoescaped),
 * static files, error pages.
 */
export default fp(
  async (app, opts: { config: Config; securityHeaders: SecurityHeaders }) => {
    const { config, securityHeaders: security } = opts;
    await app.register(cookie, { secret: config.secretKey });
    app.decorate('securityHeaders', security);
    const documentCsp = security.document['content-security-policy'] ?? '';
    app.decorateReply(kNonces, null);
    app.decorateReply(kDocument, false);
    app.decorateReply('markDocument', function (this: FastifyReply) {
      const reply = this as PageReply;
      if (reply[kDocument]) return reply;
      reply[kDocument] = true;
      for (const [name, value] of security.documentOnly)
        if (!reply.hasHeader(name)) reply.header(name, value);
      // A page that already made its nonces keeps the CSP naming them.
      if (reply[kNonces] === null) reply.header('content-security-policy', documentCsp);
      return reply;
    });
    app.decorateReply('cspNonce', {
      getter(this: FastifyReply) {
        const reply = this as PageReply;
        if (reply[kNonces] === null) {
          reply[kNonces] = createCspNonces();
          reply.header('content-security-policy', security.cspWithNonces(reply[kNonces]));
          reply.markDocument();
        }
        return reply[kNonces];
      },
    });
    // One synchronous hook for every request, before auth and body parsing: the resource's
    // security headers first (so even a refusal carries them; pages add the document's when they
    // render), then the cross-origin check, which refuses a cross-site state change before
    // anything acts on it.
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(security.resource);
      if (!isSafeMethod(request.method) && !isAllowedOrigin(originFacts(request)))
        return done(new CrossOriginRequestError());
      done();
    });
    await registerForms(app, { secure: !config.debug });
    await registerViews(app, { debug: config.debug, initialUsers: config.initialUsers });

    // Files get the document set: a browser may open any of them (an SVG, a text file) directly.
    await app.register(async (files) => {
      files.addHook('onRequest', (_request, reply, done) => {
        reply.markDocument();
        done();
      });
      await files.register(fastifyStatic, {
        root: PUBLIC,
        prefix: '/static/',
        dotfiles: 'ignore',
        index: false,
      });
    });
    // Browsers ask for it on every site; an empty answer keeps 404 noise out of consoles and logs.
    app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(204).header('cache-control', 'public, max-age=86400').send(),
    );
    registerErrorHandlers(app);
  },
  { name: 'web' },
);
