/**
 * An SSE reader process: opens its share of the bench's streams over node:http (one socket each,
 * several 127.0.0.x source addresses so ephemeral ports do not run short) and times every bench
 * message on arrival with the host's monotonic clock, against the publish time the message carries.
 * The runner forks several of these (each may hold ~20,000 open files) and drives them over IPC.
 */
import { request } from 'node:http';
import { monotonicMs } from '../lib/stats.ts';

export interface StreamSpec {
  path: string;
  headers: Record<string, string>;
}

export type ClientCommand =
  | { cmd: 'open'; port: number; streams: StreamSpec[]; localAddresses: string[]; concurrency: number }
  | { cmd: 'reset'; perMessage: number }
  | { cmd: 'latencies' }
  | { cmd: 'count'; n: number }
  | { cmd: 'close' };

export type ClientReply =
  | { type: 'opened'; open: number; failures: string[] }
  | { type: 'got'; n: number; count: number; maxLatency: number }
  | { type: 'latencies'; values: number[] }
  | { type: 'count'; n: number; count: number; maxLatency: number; open: number }
  | { type: 'reset' }
  | { type: 'closed' };

const MESSAGE = /"n":(\d+),"t":([0-9.e+-]+)/;
const sockets = new Set<{ destroy(): void }>();
let open = 0;
let latencies: number[] = [];
/** Per message number, how many streams have it and the latest arrival (broadcasts). */
let arrivals = new Map<number, { count: number; maxLatency: number }>();
let perMessage = 0;

const send = (reply: ClientReply) => process.send?.(reply);

function received(n: number, t: number): void {
  const latency = monotonicMs() - t;
  latencies.push(latency);
  if (perMessage === 0) return;
  const seen = arrivals.get(n) ?? { count: 0, maxLatency: 0 };
  seen.count++;
  seen.maxLatency = Math.max(seen.maxLatency, latency);
  arrivals.set(n, seen);
  if (seen.count === perMessage) send({ type: 'got', n, ...seen });
}

function openStream(port: number, spec: StreamSpec, localAddress: string): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: spec.path, headers: spec.headers, agent: false, localAddress },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve(`HTTP ${res.statusCode}`);
          return;
        }
        open++;
        sockets.add(res);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const match = MESSAGE.exec(buffer.slice(0, end));
            if (match) received(Number(match[1]), Number(match[2]));
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
          }
        });
        res.on('close', () => {
          if (sockets.delete(res)) open--;
        });
        resolve(null);
      },
    );
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

process.on('message', async (command: ClientCommand) => {
  if (command.cmd === 'open') {
    const failures: string[] = [];
    const { streams, concurrency, localAddresses } = command;
    for (let i = 0; i < streams.length; i += concurrency) {
      const batch = streams.slice(i, i + concurrency);
      const results = await Promise.all(
        batch.map((spec, j) =>
          openStream(command.port, spec, localAddresses[(i + j) % localAddresses.length] as string),
        ),
      );
      for (const failure of results) if (failure !== null) failures.push(failure);
    }
    send({ type: 'opened', open, failures: failures.slice(0, 5) });
  } else if (command.cmd === 'reset') {
    latencies = [];
    arrivals = new Map();
    perMessage = command.perMessage;
    send({ type: 'reset' });
  } else if (command.cmd === 'latencies') {
    send({ type: 'latencies', values: latencies });
  } else if (command.cmd === 'count') {
    const seen = arrivals.get(command.n) ?? { count: 0, maxLatency: Number.NaN };
    send({ type: 'count', n: command.n, ...seen, open });
  } else if (command.cmd === 'close') {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    send({ type: 'closed' });
    process.disconnect();
  }
});
process.on('disconnect', () => process.exit(0));
