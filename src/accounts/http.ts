import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Failure } from './service.ts';

/** A plain form post (the browser navigates) rather than a fetch: it gets a page, not JSON. */
export function isNavigation(request: FastifyRequest): boolean {
  return request.headers['sec-fetch-mode'] === 'navigate';
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
