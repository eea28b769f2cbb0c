/**
 * Many streams on one server: memory per idle stream, CPU while idle (heartbeats and the periodic
 * session check at their default periods), and broadcast time until the last reader has the
 * message. Readers live in separate processes; every message must reach every stream.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientPool } from '../lib/client-pool.ts';
import type { BenchOptions } from '../lib/options.ts';
import type { Row, ScenarioResult } from '../lib/report.ts';
import { type ServerKind, ServerProcess } from '../lib/server-process.ts';
import { median, ratio } from '../lib/stats.ts';
import { stopAll, streamSpecs } from '../lib/targets.ts';

export interface FanoutSample {
  heapPerStream: number;
  rssPerStream: number;
  idleCpuPercent: number;
  /** ms until the last stream had each broadcast. */
  broadcastMs: number[];
  /** Lowest share of streams (%) that got a broadcast. */
  deliveredPercent: number;
}

/** Broadcasts `count` messages one after another; each waits until every reader has it. */
export async function broadcastRounds(
  server: ServerProcess,
  pool: ClientPool,
  count: number,
  padBytes: number,
  firstN = 0,
): Promise<{ times: number[]; deliveredPercent: number }> {
  await pool.reset(true);
  const times: number[] = [];
  let deliveredPercent = 100;
  for (let n = firstN; n < firstN + count; n++) {
    // Listen first: the readers may report before the server's reply to `broadcast` arrives.
    const arrival = pool.waitForBroadcast(n, 30_000);
    await server.call('broadcast', { n, padBytes });
    const result = await arrival;
    times.push(result.lastMs);
    deliveredPercent = Math.min(deliveredPercent, (100 * result.delivered) / pool.size);
    await sleep(20);
  }
  return { times, deliveredPercent };
}

/** Starts a server, opens `streams` streams and measures it; `idle` adds the memory and CPU figures. */
export async function measureFanout(
  kind: ServerKind,
  options: BenchOptions,
  settings: { env?: Record<string, string>; idle: boolean },
): Promise<FanoutSample> {
  const { streams, broadcasts, padBytes, idleSeconds } = options.fanout;
  const server = await ServerProcess.start(kind, {
    core: options.placement.serverCore,
    env: { BENCH_ENV: JSON.stringify(settings.env ?? {}) },
  });
  let pool: ClientPool | undefined;
  try {
    const { tokens } = await server.call('setup', { users: streams, courses: 0 });
    const before = await server.call('memory');
    pool = await ClientPool.open(server.port, streamSpecs(kind, tokens));
    await server.waitForConnections(streams);
    const after = await server.call('memory');
    let idleCpuPercent = Number.NaN;
    if (settings.idle) {
      const cpu = server.cpuSeconds();
      await sleep(idleSeconds * 1000);
      idleCpuPercent = ((server.cpuSeconds() - cpu) / idleSeconds) * 100;
    }
    // One unmeasured broadcast first: the first write to each socket pays for its buffers.
    await broadcastRounds(server, pool, 1, padBytes, 1_000_000);
    const { times, deliveredPercent } = await broadcastRounds(server, pool, broadcasts, padBytes);
    return {
      heapPerStream: (after.heapUsed + after.external - before.heapUsed - before.external) / streams,
      rssPerStream: (after.rss - before.rss) / streams,
      idleCpuPercent,
      broadcastMs: times,
      deliveredPercent,
    };
  } finally {
    await pool?.close();
    await stopAll([server]);
  }
}

export function broadcastRows(
  app: FanoutSample,
  base: FanoutSample,
  scenario: string,
  target?: number,
): Row[] {
  const appMs = median(app.broadcastMs);
  const baseMs = median(base.broadcastMs);
  return [
    {
      scenario,
      metric: 'until the last stream has it',
      unit: 'ms',
      app: appMs,
      baseline: baseMs,
      ratio: ratio(appMs, baseMs),
      ...(target ? { target: { on: 'ratio' as const, op: '<=' as const, value: target } } : {}),
    },
    {
      scenario,
      metric: 'streams that got every broadcast',
      unit: '%',
      app: app.deliveredPercent,
      baseline: base.deliveredPercent,
      ratio: null,
      target: { on: 'app', op: '>=', value: 100 },
      check: true,
      digits: 2,
    },
  ];
}

export async function fanoutScenario(options: BenchOptions): Promise<ScenarioResult> {
  const { streams, broadcasts, padBytes, idleSeconds } = options.fanout;
  const base = await measureFanout('baseline', options, { idle: true });
  const app = await measureFanout('app', options, { idle: true });
  const idle = `${streams} idle streams`;
  const rows: Row[] = [
    ...broadcastRows(app, base, `broadcast to ${streams} streams`, 1.3),
    {
      scenario: idle,
      metric: 'heap + external per stream',
      unit: 'KiB',
      app: app.heapPerStream / 1024,
      baseline: base.heapPerStream / 1024,
      ratio: ratio(app.heapPerStream, base.heapPerStream),
      target: { on: 'ratio', op: '<=', value: 1.5 },
    },
    {
      scenario: idle,
      metric: 'RSS per stream',
      unit: 'KiB',
      app: app.rssPerStream / 1024,
      baseline: base.rssPerStream / 1024,
      ratio: ratio(app.rssPerStream, base.rssPerStream),
      target: { on: 'ratio', op: '<=', value: 1.5 },
    },
    {
      scenario: idle,
      metric: 'CPU while idle (heartbeats, session checks)',
      unit: '% of a core',
      app: app.idleCpuPercent,
      baseline: base.idleCpuPercent,
      ratio: null,
      target: { on: 'app', op: '<=', value: 5 },
      digits: 2,
    },
  ];
  return {
    id: 'fanout',
    title: 'Fan-out: broadcast and idle streams',
    rows,
    notes: [
      `${streams} streams, one account each, over ${Math.ceil(streams / 2500)} reader processes; ${broadcasts} broadcasts of ~${padBytes} B one after another (the figure is their median), after one unmeasured broadcast.`,
      `Memory: after GC, before and after opening the streams (the accounts are created and logged in before). Idle CPU: the server's CPU time over ${idleSeconds} s with every stream open and silent, at the default SSE_HEARTBEAT_SECONDS (15) and SSE_SESSION_CHECK_SECONDS (30); the baseline sends heartbeats from one interval.`,
      `Broadcast times (ms), app: ${app.broadcastMs.map((t) => t.toFixed(0)).join(', ')}; baseline: ${base.broadcastMs.map((t) => t.toFixed(0)).join(', ')}.`,
    ],
  };
}
