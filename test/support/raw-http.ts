/**
 * HTTP over a bare TCP socket, for requests no HTTP client will send as written: malformed
 * request lines and headers, undecodable paths, bodies trickled byte by byte. Reads one response
 * (to its Content-Length, or to the server closing the connection).
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the response (or the close). */
  elapsedMs: number;
}

export interface RawOptions {
  /** Sent after the request, one byte every `trickleMs`, until the server answers or closes. */
  trickle?: string;
  trickleMs?: number;
}

/** Sends `request` (CRLFs included) to the server at `base` and reads one response. */
export function rawRequest(base: string, request: string, options: RawOptions = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const started = Date.now();
    let received = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      const response = parseResponse(received.toString('latin1'));
      if (!response) return;
      done = true;
      clearInterval(timer);
      socket.destroy();
      resolve({ ...response, elapsedMs: Date.now() - started });
    };
    socket.on('connect', () => {
      socket.write(request, 'latin1');
      const trickle = options.trickle ?? '';
      let sent = 0;
      if (trickle !== '')
        timer = setInterval(() => {
          if (sent < trickle.length && !socket.destroyed) socket.write(trickle[sent++] ?? '', 'latin1');
        }, options.trickleMs ?? 100);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = parseResponse(received.toString('latin1'));
      const length = Number(response?.headers['content-length'] ?? Number.NaN);
      if (response && Buffer.byteLength(response.body, 'latin1') >= length) finish();
    });
    socket.on('error', (error) => {
      if (!done && received.length === 0) {
        done = true;
        clearInterval(timer);
        reject(error);
      }
    });
    socket.on('close', () => {
      clearInterval(timer);
      if (done) return;
      finish();
      if (!done) {
        done = true;
        reject(new Error(`connection closed without a response: ${JSON.stringify(received.toString())}`));
      }
    });
  });
}

function parseResponse(text: string): Omit<RawResponse, 'elapsedMs'> | null {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status, headers, body: Buffer.from(text.slice(end + 4), 'latin1').toString('utf8') };
}

/** A GET with `path` sent exactly as written (no client-side normalisation or encoding). */
export function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const host = new URL(base).host;
  const lines = Object.entries({ host, connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}`);
  return rawRequest(base, `GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
}
