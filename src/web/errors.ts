import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceUnavailableError } from '../service-unavailable.ts';

/**
 * The one place errors become HTTP. 4xx errors keep their (client-safe) message; a dependency
 * that is away (ServiceUnavailableError) is a 503 with `Retry-After`, logged without a stack as
 * it is no bug; anything else is logged with its stack and answered with a generic 500, so no
 * internals ever leave the process.
 * API routes and clients that do not ask for HTML get JSON `{error}`; browsers get a page.
 */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ServiceUnavailableError) {
      request.log.warn(
        { dependency: error.dependency, cause: String(error.cause) },
        'dependency unavailable',
      );
      reply.header('retry-after', String(error.retryAfterSeconds));
      return sendError(request, reply, 503, error.message);
    }
    const status = error.validation ? 400 : (error.statusCode ?? 500);
    if (status >= 500 || status < 400) {
      request.log.error({ err: error }, 'request failed');
      return sendError(request, reply, 500, 'Internal Server Error');
    }
    request.log.info({ status, code: error.code, message: error.message }, 'request rejected');
    const message = error.validation ? `Invalid request: ${error.message}` : error.message;
    return sendError(request, reply, status, message);
  });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, 404, 'Not Found'));
}

function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true;
  const accept = request.headers.accept ?? '';
  return !accept.includes('text/html');
}

function sendError(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  reply.code(status);
  if (wantsJson(request) || reply.sent) return reply.send({ error: message });
  return reply.type('text/html; charset=utf-8').view('error.njk', { status, message });
}
