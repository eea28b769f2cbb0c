/**
 * The floor every scenario is measured against: bare node:http doing the least each scenario
 * needs — no framework, no auth, no database, no security headers, no log.
 *   GET /hello          a JSON hello (for /api/me and /healthz)
 *   GET /page           the bytes of the app's rendered page (set over IPC)
 *   GET /events/<user>  an SSE stream: a Set of responses per user, one interval for heartbeats
 *   POST /publish       {to, message}: frames the message once and writes it to that user's streams
 * and, over IPC, the same in-process publish and broadcast commands as the app, plus a bcrypt
 * loop for the login storm.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import bcrypt from 'bcrypt';
import { median, monotonicMs } from '../lib/stats.ts';
import { benchMessage, type Commands, publishPaced, serveCommands } from './ipc.ts';

const HEARTBEAT_MS = Number(process.env.BENCH_HEARTBEAT_MS ?? 15_000);
const HELLO = JSON.stringify({ hello: 'world' });

const streams = new Map<string, Set<ServerResponse>>();
let page = Buffer.from('<!doctype html><title>page</title>');
let id = 0;

function deliver(to: string, message: unknown): void {
  const frame = `id: ${++id}\ndata: ${JSON.stringify(message)}\n\n`;
  if (to === '*') for (const set of streams.values()) for (const res of set) res.write(frame);
  else for (const res of streams.get(to) ?? []) res.write(frame);
}

function openStream(user: string, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 2000\n\n');
  const set = streams.get(user) ?? new Set();
  streams.set(user, set.add(res));
  res.on('close', () => {
    set.delete(res);
    if (set.size === 0) streams.delete(user);
  });
}

function readJson(req: IncomingMessage): Promise<{ to: string; message: unknown }> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(body));
      } catch (error) {
        reject(error);
      }
    });
  });
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && (url === '/hello' || url === '/healthz')) {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': HELLO.length });
    res.end(HELLO);
  } else if (req.method === 'GET' && url === '/page') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': page.length });
    res.end(page);
  } else if (req.method === 'GET' && url.startsWith('/events/')) {
    openStream(url.slice('/events/'.length), res);
  } else if (req.method === 'POST' && url === '/publish') {
    readJson(req).then(
      ({ to, message }) => {
        deliver(to, message);
        res.writeHead(202, { 'content-type': 'application/json' }).end(`{"id":${id}}`);
      },
      () => res.writeHead(400).end(),
    );
  } else {
    res.writeHead(404).end();
  }
});

const heartbeat = setInterval(() => {
  for (const set of streams.values()) for (const res of set) res.write(': \n\n');
}, HEARTBEAT_MS);

const commands: Commands = {
  async setup({ users }) {
    return { tokens: Array.from({ length: users }, (_, i) => `bench${i}`) };
  },
  async publish(args) {
    const pad = 'x'.repeat(args.padBytes);
    const acks: number[] = [];
    const failed = await publishPaced(args, async (recipient, n) => {
      const t = monotonicMs();
      deliver(`bench${recipient}`, benchMessage(n, t, pad));
      acks.push(monotonicMs() - t);
    });
    return { ackMs: median(acks), busMs: Number.NaN, failed };
  },
  async broadcast({ n, padBytes }) {
    deliver('*', benchMessage(n, monotonicMs(), 'x'.repeat(padBytes)));
  },
  async hashLoop({ rounds, concurrency, count }) {
    const hash = await bcrypt.hash('bench-password-1', rounds);
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next++ < count) await bcrypt.compare('bench-password-1', hash);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { perSecond: (count * 1000) / (performance.now() - started) };
  },
  setPage({ html }) {
    page = Buffer.from(html);
  },
  memory: () => {
    const { heapUsed, external, rss } = process.memoryUsage();
    return { heapUsed, external, rss };
  },
  cpuSeconds: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  },
  connections: () => {
    let total = 0;
    for (const set of streams.values()) total += set.size;
    return total;
  },
  async exit() {
    clearInterval(heartbeat);
    for (const set of streams.values()) for (const res of set) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  },
};

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  serveCommands(commands, address.port);
});
