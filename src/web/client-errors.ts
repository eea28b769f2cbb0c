/**
 * Errors Node's HTTP parser raises before a request exists — a malformed request line or header,
 * `Transfer-Encoding` with `Content-Length` (smuggling), headers over the limit, a request not
 * received within REQUEST_TIMEOUT_SECONDS. No hook or error handler ever sees them: the answer is
 * written straight to the socket. So it is written here like every other JSON error response:
 * the resource's security headers, a fixed JSON body that never quotes the request, and the
 * connection closed (the parser's state is unknown). Fastify's `clientErrorHandler` option.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** The status for each parser error; anything else is a 400. */
const STATUS_BY_CODE: Record<string, number> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
};

export function createClientErrorHandler(securityHeaders: Record<string, string>) {
  const fixed = Object.entries(securityHeaders)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return function onClientError(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
    // A reset or closed connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // A response already under way must not be followed by a second status line.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    const status = STATUS_BY_CODE[error.code ?? ''] ?? 400;
    // Debug only: anyone can send these at volume, and they are no fault of the server.
    this.log.debug({ code: error.code, status }, 'client error');
    if (socket.writable && !inFlight?.headersSent) {
      const reason = STATUS_CODES[status] ?? 'Error';
      const body = JSON.stringify({ error: reason });
      socket.write(
        `HTTP/1.1 ${status} ${reason}\r\n${fixed}content-type: application/json; charset=utf-8\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
