/**
 * The floor to compare against: a bare node:http SSE fan-out with no framework, auth, log or
 * replay — one Set of responses and a write per message.
 */
import { createServer, type ServerResponse } from 'node:http';
import { now, serveCommands } from './ipc.ts';

const streams = new Set<ServerResponse>();
let id = 0;
const server = createServer((req, res) => {
  if (req.url !== '/events') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 2000\n\n');
  streams.add(res);
  res.on('close', () => streams.delete(res));
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  serveCommands(
    {
      publish: async (n, padding) => {
        const frame = `id: ${++id}\ndata: ${JSON.stringify({ js: { t: now(), n, padding } })}\n\n`;
        for (const res of streams) res.write(frame);
        // Yield like an async publish would, so both servers publish one message at a time.
        await new Promise((resolve) => setImmediate(resolve));
      },
      connections: () => streams.size,
      close: async () => {
        for (const res of streams) res.end();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    },
    address.port,
  );
});
