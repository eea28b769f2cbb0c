import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type TestContext, test } from 'node:test';
import { backoffDelay, createStream, type StreamHandlers } from './stream.ts';

test('backoff doubles from the server retry value, with full jitter', () => {
  assert.equal(backoffDelay(0, 1000, 1), 1000);
  assert.equal(backoffDelay(3, 1000, 1), 8000);
  assert.equal(backoffDelay(3, 1000, 0.5), 4000);
  assert.equal(backoffDelay(3, 1000, 0), 0);
});

test('backoff is capped at 30 s, or at the retry value when the server asks for more', () => {
  assert.equal(backoffDelay(10, 1000, 1), 30_000);
  assert.equal(backoffDelay(1000, 1000, 1), 30_000);
  assert.equal(backoffDelay(2, 60_000, 1), 60_000);
});

/** A loopback server whose handler sees each request in turn; closed after the test. */
async function serve(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => void,
) {
  let n = 0;
  const server = createServer((req, res) => handler(req, res, ++n));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return `http://127.0.0.1:${address.port}/events`;
}

/** Handlers that record what the stream reports; `lastId` follows the events like a Source does. */
function recorder(onEvent?: (data: string) => void) {
  const log: string[] = [];
  let lastId = '';
  const handlers: StreamHandlers = {
    lastId: () => lastId,
    open: () => log.push('open'),
    event: (type, data, id) => {
      lastId = id;
      log.push(`${type}:${data}`);
      onEvent?.(data);
    },
    error: () => {
      log.push('error');
      return true;
    },
    denied: (status) => log.push(`denied:${status}`),
  };
  return { log, handlers };
}

test('a silent stream is taken for dead and reopened from the last id', async (t) => {
  const seen: (string | undefined)[] = [];
  const url = await serve(t, (req, res, n) => {
    seen.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`retry: 10\nid: ${n}\ndata: hello ${n}\n\n`); // …then nothing, not even a heartbeat
  });
  const { promise: second, resolve } = Promise.withResolvers<void>();
  const { log, handlers } = recorder((data) => data === 'hello 2' && resolve());
  const stream = createStream(url, handlers, 100);
  t.after(stream.close);
  await second;
  assert.deepEqual(seen, [undefined, '1']);
  assert.deepEqual(log, ['open', 'message:hello 1', 'error', 'open', 'message:hello 2']);
});

test('401 ends the stream without a retry; 503 is retried', async (t) => {
  const statuses = [503, 401];
  const { promise: denied, resolve } = Promise.withResolvers<void>();
  let requests = 0;
  const url = await serve(t, (_req, res) => {
    requests++;
    res.writeHead(statuses.shift() ?? 200).end();
  });
  const { log, handlers } = recorder();
  const stream = createStream(url, {
    ...handlers,
    denied: (status) => {
      handlers.denied(status);
      resolve();
    },
  });
  t.after(stream.close);
  await denied;
  stream.retryNow(); // nothing is waiting: a denied stream stays closed
  assert.deepEqual(log, ['error', 'denied:401']);
  assert.equal(requests, 2);
});
