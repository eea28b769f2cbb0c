/**
 * A small node:http server for the browser tests: pages served with a strict nonce CSP, the
 * bundles built in memory, SSE channels the test drives (ids, replay after Last-Event-ID, named
 * events, forced statuses), an sx-post endpoint whose responses the test controls, and a way to
 * stop and restart on the same port.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { basename } from 'node:path';
import { buildClient } from '../../scripts/build-client.ts';

export interface PageOptions {
  /** Put into `<body …>` (e.g. `sx-connect="/events/a"`). */
  bodyAttrs?: string;
  body?: string;
  /** Extra tags for <head>; `{{nonce}}` is replaced with the response's nonce. */
  head?: string;
  /** Overrides the `<meta name="csp-nonce">` value (to prove the CSP is enforced). */
  metaNonce?: string;
  /** Which core bundle the page loads. */
  script?: 'ssexi.js' | 'ssexi.min.js';
  /**
   * `strict-dynamic` (default): `script-src 'nonce-…' 'strict-dynamic'`. `nonce`: the app's own
   * `script-src 'self' 'nonce-…'`, where script-inserted inline code needs the nonce itself.
   */
  csp?: 'strict-dynamic' | 'nonce';
}

export interface StreamRequest {
  channel: string;
  lastEventId: string | null;
  status: number;
  /** Resolves when this response ends (client gone or server closed it). */
  closed: Promise<void>;
}

export interface PostRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Answers the request; until then the browser waits. */
  respond(status: number, body?: string): void;
}

/** A GET under /hold/ that waits for the test, like a slow logout. */
export interface HeldRequest {
  path: string;
  respond(html: string): void;
}

interface Channel {
  log: { id: number; frame: string }[];
  streams: Set<ServerResponse>;
  status: number;
  retryMs: number;
  /** Sends `id: <latest id>` on open, as a server should so a quiet client still has a resume point. */
  announceId: boolean;
}

export const CSRF_TOKEN = 'csrf-token-for-tests';

/** Bundled once per test process; every fixture serves the same in-memory files. */
let bundled: ReturnType<typeof buildClient> | undefined;

/** Starts the fixture on 127.0.0.1 (random port); `close()` it in `t.after`. */
export async function startFixture() {
  bundled ??= buildClient(false);
  const bundles = new Map((await bundled).map((file) => [basename(file.path), file.contents]));
  const pages = new Map<string, PageOptions>();
  const channels = new Map<string, Channel>();
  const sockets = new Set<Socket>();
  const events = new EventEmitter();
  const streamRequests: StreamRequest[] = [];
  let nextId = 1;
  let postCount = 0;

  const channel = (name: string): Channel => {
    let found = channels.get(name);
    if (!found) {
      found = { log: [], streams: new Set(), status: 200, retryMs: 200, announceId: false };
      channels.set(name, found);
    }
    return found;
  };

  const renderPage = (options: PageOptions, nonce: string) => `<!doctype html>
<html><head><meta charset="utf-8">
<meta name="csp-nonce" content="${options.metaNonce ?? nonce}">
<meta name="csrf-token" content="${CSRF_TOKEN}">
<title>fixture</title>
<script src="/static/${options.script ?? 'ssexi.js'}" nonce="${nonce}" defer></script>
${(options.head ?? '').replaceAll('{{nonce}}', nonce)}
</head><body ${options.bodyAttrs ?? ''}>${options.body ?? ''}</body></html>`;

  const openStream = (name: string, req: IncomingMessage, res: ServerResponse, url: URL) => {
    const ch = channel(name);
    const header = req.headers['last-event-id'];
    const lastEventId = (typeof header === 'string' ? header : null) ?? url.searchParams.get('lastEventId');
    const closed = once(res, 'close').then(() => {});
    const request: StreamRequest = { channel: name, lastEventId, status: ch.status, closed };
    streamRequests.push(request);
    events.emit('stream', request);
    if (ch.status !== 200) {
      res.writeHead(ch.status, { 'content-type': 'application/json' }).end('{"error":"nope"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(`retry: ${ch.retryMs}\n\n`);
    const after = lastEventId === null ? Number.POSITIVE_INFINITY : Number(lastEventId);
    for (const entry of ch.log) if (entry.id > after) res.write(entry.frame);
    const latest = ch.log.at(-1)?.id;
    if (ch.announceId && lastEventId === null && latest !== undefined) res.write(`id: ${latest}\n\n`);
    ch.streams.add(res);
    res.on('close', () => ch.streams.delete(res));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const path = url.pathname;
    if (path.startsWith('/static/')) {
      const file = bundles.get(path.slice('/static/'.length));
      if (!file) return res.writeHead(404).end();
      const type = path.endsWith('.map') ? 'application/json' : 'text/javascript';
      return res.writeHead(200, { 'content-type': type }).end(file);
    }
    if (path === '/favicon.ico') return res.writeHead(204).end();
    if (path.startsWith('/events/')) return openStream(path.slice('/events/'.length), req, res, url);
    if (path.startsWith('/hold/')) {
      events.emit('held', {
        path,
        respond: (html: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(html),
      } satisfies HeldRequest);
      return;
    }
    if (req.method === 'POST') {
      postCount++;
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () =>
        events.emit('post', {
          path,
          headers: req.headers,
          body,
          respond: (status: number, text = '{}') =>
            res.writeHead(status, { 'content-type': 'application/json' }).end(text),
        } satisfies PostRequest),
      );
      return;
    }
    const page = pages.get(path);
    const nonce = randomBytes(16).toString('base64');
    const html = page ? renderPage(page, nonce) : `<!doctype html><title>${path}</title><h1>${path}</h1>`;
    const scriptSrc = page?.csp === 'nonce' ? `'self' 'nonce-${nonce}'` : `'nonce-${nonce}' 'strict-dynamic'`;
    res.writeHead(page || path === '/login' || path === '/signin' ? 200 : 404, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'self'; script-src ${scriptSrc}; object-src 'none'; base-uri 'none'`,
    });
    res.end(html);
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  const port = address.port;
  const origin = `http://127.0.0.1:${port}`;

  /** Waits for the stream request number `n` (1-based, counting every channel) to arrive. */
  const nthStream = async (n: number): Promise<StreamRequest> => {
    while (streamRequests.length < n) await once(events, 'stream');
    return streamRequests[n - 1] as StreamRequest;
  };

  const stopListening = async () => {
    const done = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await done;
  };

  return {
    origin,
    url: (path: string) => new URL(path, origin).href,
    page(path: string, options: PageOptions) {
      pages.set(path, options);
      return new URL(path, origin).href;
    },
    /** Every stream request so far, in arrival order. */
    streamRequests,
    nthStream,
    openStreams: (name: string) => channel(name).streams.size,
    /** Responds to later stream requests on `name` with `status` (200 to serve again). */
    setStatus(name: string, status: number) {
      channel(name).status = status;
    },
    setAnnounceId(name: string, on: boolean) {
      channel(name).announceId = on;
    },
    setRetry(name: string, ms: number) {
      channel(name).retryMs = ms;
    },
    /**
     * Logs and sends one event to every open stream of the channel. A message gets the next
     * id and is replayed after Last-Event-ID; a named control event (`auth`) is sent live only.
     */
    send(name: string, data: unknown, event?: string): number {
      const ch = channel(name);
      const json = JSON.stringify(data);
      if (event) {
        for (const res of ch.streams) res.write(`event: ${event}\ndata: ${json}\n\n`);
        return 0;
      }
      const id = nextId++;
      const frame = `id: ${id}\ndata: ${json}\n\n`;
      ch.log.push({ id, frame });
      for (const res of ch.streams) res.write(frame);
      return id;
    },
    /** Writes raw bytes to every open stream of the channel (for malformed input). */
    sendRaw(name: string, text: string) {
      for (const res of channel(name).streams) res.write(text);
    },
    /** Ends every open stream of the channel, as a server-side drop would. */
    dropStreams(name: string) {
      for (const res of channel(name).streams) res.destroy();
    },
    /** The next GET under /hold/ (it waits until `respond`). */
    nextHeld: async (): Promise<HeldRequest> => (await once(events, 'held'))[0] as HeldRequest,
    /** How many POST requests arrived so far. */
    postCount: () => postCount,
    /** The next sx-post request (resolves when its body has arrived). */
    nextPost: async (): Promise<PostRequest> => (await once(events, 'post'))[0] as PostRequest,
    /** Kills every connection and stops listening: the client sees the server die. */
    stop: stopListening,
    /** Listens again on the same port, log intact (a restart that kept its database). */
    async restart() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: async () => {
      if (server.listening) await stopListening();
    },
  };
}

export type Fixture = Awaited<ReturnType<typeof startFixture>>;
