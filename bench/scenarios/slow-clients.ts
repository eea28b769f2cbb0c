/**
 * Stalled readers: the same broadcasts to the same readers, first alone, then with `stalled`
 * more streams (making `streams` in all) whose clients stop reading. The server must drop those
 * (its per-stream send cap, SSE_MAX_BUFFERED_BYTES) instead of buffering, keep its memory flat,
 * and keep serving everyone else at the same speed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { StreamSpec } from '../clients/sse-client.ts';
import { ClientPool } from '../lib/client-pool.ts';
import { processRssBytes } from '../lib/machine.ts';
import type { BenchOptions } from '../lib/options.ts';
import type { ScenarioResult } from '../lib/report.ts';
import { ServerProcess } from '../lib/server-process.ts';
import { median, ratio } from '../lib/stats.ts';
import { stopAll, streamSpecs } from '../lib/targets.ts';
import { broadcastRounds } from './fanout.ts';

/** Opens streams that read their response head and then nothing (clients/stalled.py). */
async function openStalled(port: number, specs: StreamSpec[]): Promise<ChildProcess> {
  const child = spawn('python3', [new URL('../clients/stalled.py', import.meta.url).pathname, String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin?.write(`${JSON.stringify(specs)}\n`);
  const [line] = (await Promise.race([
    once(child.stdout as NodeJS.ReadableStream, 'data'),
    once(child, 'exit').then(() => {
      throw new Error('the stalled-client process failed');
    }),
  ])) as [Buffer];
  if (!String(line).startsWith('ready')) throw new Error(`stalled clients: ${line}`);
  return child;
}

/** Runs `work` while sampling the server's RSS; returns the peak rise over its RSS at the start. */
async function peakRssRise<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; riseBytes: number }> {
  const start = processRssBytes(pid);
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, processRssBytes(pid));
  }, 50);
  try {
    const result = await work();
    peak = Math.max(peak, processRssBytes(pid));
    return { result, riseBytes: peak - start };
  } finally {
    clearInterval(timer);
  }
}

export async function slowClientScenario(options: BenchOptions): Promise<ScenarioResult> {
  const { streams, stalled, slowBroadcasts, slowPadBytes, slowBufferBytes } = options.fanout;
  const readers = streams - stalled;
  const server = await ServerProcess.start('app', {
    core: options.placement.serverCore,
    env: { BENCH_ENV: JSON.stringify({ SSE_MAX_BUFFERED_BYTES: String(slowBufferBytes) }) },
  });
  let pool: ClientPool | undefined;
  let python: ChildProcess | undefined;
  try {
    const { tokens } = await server.call('setup', { users: streams, courses: 0 });
    const specs = streamSpecs('app', tokens);
    pool = await ClientPool.open(server.port, specs.slice(0, readers));
    await server.waitForConnections(readers);
    const readersOnly = pool;
    await broadcastRounds(server, readersOnly, 1, slowPadBytes, 1_000_000);
    const alone = await peakRssRise(server.pid, () =>
      broadcastRounds(server, readersOnly, slowBroadcasts, slowPadBytes),
    );
    python = await openStalled(server.port, specs.slice(readers));
    await server.waitForConnections(streams);
    const mixed = await peakRssRise(server.pid, () =>
      broadcastRounds(server, readersOnly, slowBroadcasts, slowPadBytes, slowBroadcasts),
    );
    const dropped = streams - (await server.call('connections'));
    if (alone.result.deliveredPercent < 100 || mixed.result.deliveredPercent < 100)
      throw new Error('stalled clients: a reading stream missed a broadcast');
    const scenario = `${stalled} of ${streams} clients stop reading`;
    const [aloneMs, mixedMs] = [median(alone.result.times), median(mixed.result.times)];
    return {
      id: 'slow',
      title: 'Stalled clients',
      rows: [
        {
          scenario,
          metric: 'broadcast time, with them / without',
          unit: 'ms',
          app: mixedMs,
          baseline: aloneMs,
          baselineName: 'without',
          ratio: ratio(mixedMs, aloneMs),
          target: { on: 'ratio', op: '<=', value: 1.1 },
        },
        {
          scenario,
          metric: 'peak RSS rise during the broadcasts, with them / without',
          unit: 'MiB',
          app: mixed.riseBytes / 1024 ** 2,
          baseline: alone.riseBytes / 1024 ** 2,
          baselineName: 'without',
          ratio: null,
        },
        {
          scenario,
          metric: 'stalled streams dropped by the server',
          unit: '',
          app: dropped,
          baseline: null,
          ratio: null,
          target: { on: 'app', op: '>=', value: stalled },
          check: true,
          digits: 0,
        },
      ],
      notes: [
        `Stalled clients: ${readers} readers get ${slowBroadcasts} broadcasts of ~${slowPadBytes} B alone, then ${slowBroadcasts} more with ${stalled} extra streams whose clients (a Python process with a 4 KiB receive buffer and a 1000-byte MSS, so the kernels absorb ~50 KB instead of megabytes) read nothing. SSE_MAX_BUFFERED_BYTES=${slowBufferBytes} so they pass the cap within the run. RSS sampled every 50 ms.`,
        `Broadcast times (ms) alone: ${alone.result.times.map((t) => t.toFixed(0)).join(', ')}; with stalled clients: ${mixed.result.times.map((t) => t.toFixed(0)).join(', ')}.`,
      ],
    };
  } finally {
    python?.kill();
    await pool?.close();
    await stopAll([server]);
  }
}
