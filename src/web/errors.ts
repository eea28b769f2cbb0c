import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceUnavailableError } from '../service-unavailable.ts';

/**
 * The one place errors become HTTP, for every error a request can meet: the app's own, Fastify's
 * (bad bodies and content types, undecodable URLs — see app.ts), and values Node refuses to write
 * as headers. Parser errors before a request exists are answered in client-errors.ts the same way.
 * - 4xx: the app's own errors keep their messages, written for clients; validation errors say
 *   which field broke which rule. Fastify's and Node's messages may quote the request (a URL, a
 *   content type, a JSON fragment), so those get the status text instead: input is never echoed.
 * - a dependency that is away (ServiceUnavailableError: the database, Redis) is a 503 with
 *   `Retry-After` and a fixed message, logged without a stack: it is no bug.
 * - anything else is logged with its stack and answered with a generic 500: no internals leave.
 * API routes and clients that do not ask for HTML get JSON `{error}`; browsers get a page. The
 * resource's security headers are on the reply from its first hook, so every answer carries them;
 * an error page, like any rendered view, adds the document's (plugin.ts).
 */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A header value Node refused to write would fail this answer too (a 500 from Fastify's
    // fallback, quoting Node's message).
    dropUnwritableHeaders(reply);
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
    request.log.info({ status, code: error.code }, 'request rejected');
    return sendError(request, reply, status, clientMessage(error, status));
  });

  // Unknown routes, and requests screened out before routing (see `screenRequest`): app.ts sends
  // them here instead of to Node's or Fastify's own answers, which skip every hook.
  app.setNotFoundHandler((request, reply) => {
    const status = (request.raw as Screened)[kRefusal];
    return status === undefined
      ? sendError(request, reply, 404, 'Not Found')
      : sendError(request, reply, status, STATUS_CODES[status] ?? 'Error');
  });
}

/** Where a request refused before routing goes: a path no route matches (the not-found handler). */
const UNROUTABLE_URL = '/.unroutable';
/** The status a request screened out before routing is answered with, kept on the raw request. */
const kRefusal = Symbol('refusal');
type Screened = IncomingMessage & { [kRefusal]?: number };

/**
 * Fastify's `rewriteUrl`, run on every request before routing: requests Node or Fastify would
 * otherwise answer themselves, outside the request lifecycle — no hooks, so no security headers,
 * and for URLs the input quoted back — are sent to the not-found handler with their status
 * instead, so they are answered like every other refusal:
 * - a URL the router cannot decode (`/static/%c0%ae%c0%ae/…`: malformed percent-encoding,
 *   overlong UTF-8) or that is not a path at all (`*`): 400 (was Fastify's FST_ERR_BAD_URL);
 * - an HTTP/1.1 request without `Host` (RFC 9112 §3.2): 400 (was Node's bare 400; app.ts turns
 *   Node's own check off);
 * - an `Expect` other than `100-continue`: 417 (was Node's bare 417; see `refuseExpectation`).
 * (URLs without a `%` cost one scan; others one decode.)
 */
export function screenRequest(request: IncomingMessage): string {
  const screened = request as Screened;
  if (screened[kRefusal] === undefined) {
    if (request.headers.host === undefined && request.httpVersion === '1.1') screened[kRefusal] = 400;
    else if (!isRoutableUrl(request.url ?? '/')) screened[kRefusal] = 400;
  }
  return screened[kRefusal] === undefined ? (request.url ?? '/') : UNROUTABLE_URL;
}

/**
 * Node's `checkExpectation` listener: a request whose `Expect` names something other than
 * `100-continue` (which nothing here can meet) is routed like any other, to a 417 from the
 * not-found handler; without a listener Node answers 417 itself, bare.
 */
export function refuseExpectation(route: (request: IncomingMessage, response: ServerResponse) => void) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    (request as Screened)[kRefusal] = 417;
    route(request, response);
  };
}

function isRoutableUrl(url: string): boolean {
  // Absolute-form targets (`GET http://host/path`) are routed by their path.
  const path = /^https?:\/\//i.test(url) ? url.slice(url.indexOf('/', url.indexOf('//') + 2)) : url;
  if (!path.startsWith('/')) return false;
  // Only a percent-encoding can fail to decode (the raw URL holds no lone surrogates).
  if (!path.includes('%')) return true;
  const end = path.indexOf('?');
  try {
    decodeURIComponent(end === -1 ? path : path.slice(0, end));
    return true;
  } catch {
    return false;
  }
}

/** The message a 4xx answer carries; see the module comment. */
function clientMessage(error: FastifyError, status: number): string {
  if (error.validation) return `Invalid request: ${error.message}`;
  const ours =
    typeof error.code === 'string' && !/^(FST_|ERR_)/.test(error.code) && !(error instanceof SyntaxError);
  return ours ? error.message : (STATUS_CODES[status] ?? 'Error');
}

/** Printable ASCII: what Node writes and every client reads alike. */
const HEADER_SAFE = /^[\t\x20-\x7e]*$/;

function dropUnwritableHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => !HEADER_SAFE.test(String(v)))) reply.removeHeader(name);
  }
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
