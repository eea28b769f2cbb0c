import type { FastifyReply } from 'fastify';
import type { Failure } from './service.ts';

/** A failure as JSON `{error}` (with Retry-After when throttled). */
export function sendFailure(reply: FastifyReply, failure: Failure) {
  if (failure.retryAfter) reply.header('retry-after', String(failure.retryAfter));
  return reply.code(failure.status).send({ error: failure.error });
}
