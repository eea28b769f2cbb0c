import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Failure } from './service.ts';

/**
 * A plain form post (the browser navigates) rather than a fetch (SSEXI.js's `sx-post`, a script):
 * it gets a page or a redirect, not JSON. Browsers say which by `Sec-Fetch-Mode`; without it, an
 * `Accept` that asks for HTML decides.
 */
export function isNavigation(request: FastifyRequest): boolean {
  if (request.headers['sx-request'] !== undefined) return false;
  const mode = request.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * The form token for cookie-authenticated requests. A request carrying `Authorization` needs
 * none: another site cannot make a browser send that header (SECURITY.md, CSRF).
 */
export function csrfUnlessBearer(app: FastifyInstance) {
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (request.headers.authorization !== undefined) return done();
    app.csrfProtection(request, reply, done);
  };
}

/** A failure as JSON `{error}` (with Retry-After when throttled). */
export function sendFailure(reply: FastifyReply, failure: Failure) {
  if (failure.retryAfter) reply.header('retry-after', String(failure.retryAfter));
  return reply.code(failure.status).send({ error: failure.error });
}
