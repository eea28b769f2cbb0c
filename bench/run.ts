/**
 * `npm run bench`: a bounded loopback load test of event delivery. The app and a bare node:http
 * SSE baseline each run in their own process and face the same client (this process), so every
 * result is also quoted as a ratio to the baseline — absolute numbers depend on the machine.
 *
 * Scenarios, per server:
 * 1. paced fan-out: BENCH_STREAMS streams, BENCH_PACED messages at BENCH_RATE/s → delivery latency;
 * 2. burst fan-out: BENCH_BURST messages as fast as the server publishes → deliveries/s (its
 *    latencies are mostly the backlog the burst itself builds, so they are not reported);
 * 3. idle streams: memory per open stream (heap + external after GC, and RSS).
 * Latency is wall clock from publish (in the server) to parse (in the client), both on this host.
 * Writes bench/results/latest.md and prints it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { percentile, ServerProcess, StreamSet } from './lib/harness.ts';

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const STREAMS = int('BENCH_STREAMS', 200);
const PACED = int('BENCH_PACED', 300);
const RATE = int('BENCH_RATE', 100);
const BURST = int('BENCH_BURST', 2000);
const IDLE = int('BENCH_IDLE', 1000);
const PAD_BYTES = int('BENCH_PAD_BYTES', 200);

interface Target {
  name: string;
  script: URL;
  /** The stream URL and headers for a reader. */
  stream(base: string): Promise<{ url: string; headers: Record<string, string> }>;
}

const targets: Target[] = [
  {
    name: 'app',
    script: new URL('./servers/app-server.ts', import.meta.url),
    async stream(base) {
      const response = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'mark', password: 'pass123' }),
      });
      const { access_token } = (await response.json()) as { access_token: string };
      return { url: `${base}/protected/events/mark`, headers: { authorization: `Bearer ${access_token}` } };
    },
  },
  {
    name: 'node:http baseline',
    script: new URL('./servers/baseline-server.ts', import.meta.url),
    stream: async (base) => ({ url: `${base}/events`, headers: {} }),
  },
];

interface Result {
  pacedP50: number;
  pacedP99: number;
  burstPerSecond: number;
  idleHeapPerStream: number;
  idleRssPerStream: number;
}

async function measure(target: Target): Promise<Result> {
  const server = await ServerProcess.start(target.script);
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const { url, headers } = await target.stream(base);
    const streams = new StreamSet();
    await streams.open(url, { accept: 'text/event-stream', ...headers }, STREAMS);
    await server.waitForConnections(STREAMS);

    // Warm-up (JIT, SQLite page cache), not measured.
    await server.send({ cmd: 'publish', count: 50, ratePerSecond: null, padBytes: PAD_BYTES });
    await streams.waitFor(STREAMS * 50);

    streams.reset();
    await server.send({ cmd: 'publish', count: PACED, ratePerSecond: RATE, padBytes: PAD_BYTES });
    await streams.waitFor(STREAMS * PACED);
    const paced = streams.latencies;

    streams.reset();
    const started = performance.now();
    await server.send({ cmd: 'publish', count: BURST, ratePerSecond: null, padBytes: PAD_BYTES });
    await streams.waitFor(STREAMS * BURST);
    const burstSeconds = (performance.now() - started) / 1000;
    streams.close();
    await server.waitForConnections(0);

    const before = await server.memory();
    const idle = new StreamSet();
    await idle.open(url, { accept: 'text/event-stream', ...headers }, IDLE);
    await server.waitForConnections(IDLE);
    const after = await server.memory();
    idle.close();
    await server.waitForConnections(0);

    return {
      pacedP50: percentile(paced, 50),
      pacedP99: percentile(paced, 99),
      burstPerSecond: (STREAMS * BURST) / burstSeconds,
      idleHeapPerStream: (after.heapUsed + after.external - before.heapUsed - before.external) / IDLE,
      idleRssPerStream: (after.rss - before.rss) / IDLE,
    };
  } finally {
    await server.stop();
  }
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const ratio = (app: number, baseline: number) => (baseline > 0 ? `${(app / baseline).toFixed(2)}×` : 'n/a');

const started = Date.now();
const [app, baseline] = [await measure(targets[0] as Target), await measure(targets[1] as Target)];
const rows: [string, string, number, number, number][] = [
  ['paced fan-out', 'p50 latency (ms)', app.pacedP50, baseline.pacedP50, 2],
  ['paced fan-out', 'p99 latency (ms)', app.pacedP99, baseline.pacedP99, 2],
  ['burst fan-out', 'deliveries/s', app.burstPerSecond, baseline.burstPerSecond, 0],
  [
    'idle streams',
    'heap + external per stream (KiB)',
    app.idleHeapPerStream / 1024,
    baseline.idleHeapPerStream / 1024,
    1,
  ],
  ['idle streams', 'RSS per stream (KiB)', app.idleRssPerStream / 1024, baseline.idleRssPerStream / 1024, 1],
];
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const markdown = [
  `# Event delivery bench — ${new Date().toISOString()}`,
  '',
  `Node ${process.version}, ${os.cpus().length} × ${cpu}, loopback. ${STREAMS} streams; paced: ${PACED} messages at ${RATE}/s;`,
  `burst: ${BURST} messages; idle: ${IDLE} streams; message padding ${PAD_BYTES} B. Client and servers share the machine,`,
  'so the ratio column is the result; the app stores every message in SQLite before delivering it.',
  '',
  '| scenario | metric | app | node:http baseline | app / baseline |',
  '|---|---|---:|---:|---:|',
  ...rows.map(
    ([scenario, metric, a, b, digits]) =>
      `| ${scenario} | ${metric} | ${fixed(a, digits)} | ${fixed(b, digits)} | ${ratio(a, b)} |`,
  ),
  '',
  `Total run time ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  '',
].join('\n');
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/latest.md', import.meta.url), markdown);
console.log(markdown);
