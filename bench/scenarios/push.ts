/**
 * Push latency: `streams` open streams (one per account), messages to random accounts at a fixed
 * rate, published in the server process (`app.events.publish`) and over HTTP from another process
 * (`POST /api/events`). Latency is publish→receive, timed at the readers. Compared with bare
 * node:http SSE, or (scale-out) with another app configuration.
 */
import { fork } from 'node:child_process';
import type { PublisherJob } from '../clients/http-publisher.ts';
import { ClientPool } from '../lib/client-pool.ts';
import type { BenchOptions } from '../lib/options.ts';
import type { Row, ScenarioResult } from '../lib/report.ts';
import { ServerProcess } from '../lib/server-process.ts';
import { median, percentile, ratio } from '../lib/stats.ts';
import { stopAll, streamSpecs } from '../lib/targets.ts';
import { BENCH_PUBLISH_KEY, type PublishArgs } from '../servers/ipc.ts';

export type PublishVia = 'in-process' | 'HTTP';

export interface PushSample {
  p50: number;
  p99: number;
  /** In-process publishes only: median publish→resolved and publish→bus (app) in ms. */
  ackMs: number;
  busMs: number;
}

export interface PushTarget {
  label: string;
  server: ServerProcess;
  pool: ClientPool;
}

/** Opens one stream per account on `server` (accounts created and logged in first). */
export async function openPushTarget(
  label: string,
  server: ServerProcess,
  streams: number,
): Promise<PushTarget> {
  const { tokens } = await server.call('setup', { users: streams, courses: 0 });
  const pool = await ClientPool.open(server.port, streamSpecs(server.kind, tokens));
  await server.waitForConnections(streams);
  return { label, server, pool };
}

function publishOverHttp(target: PushTarget, args: PublishArgs): Promise<number> {
  const app = target.server.kind === 'app';
  const job: PublisherJob = {
    ...args,
    port: target.server.port,
    path: app ? '/api/events' : '/publish',
    headers: app ? { authorization: `Bearer ${BENCH_PUBLISH_KEY}` } : {},
    status: 202,
  };
  const child = fork(new URL('../clients/http-publisher.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    child.once('message', (reply: { failed: number }) => resolve(reply.failed));
    child.once('exit', (code) => reject(new Error(`HTTP publisher exited (${code})`)));
    child.send(job);
  });
}

/** One measured burst of `messages` publishes; throws unless every message arrived. */
export async function measurePush(
  target: PushTarget,
  via: PublishVia,
  options: BenchOptions,
): Promise<PushSample> {
  const { rate, messages, padBytes, streams } = options.push;
  const args: PublishArgs = { rate, count: messages, users: streams, padBytes };
  await target.pool.reset(false);
  let ackMs = Number.NaN;
  let busMs = Number.NaN;
  let failed: number;
  if (via === 'in-process') ({ ackMs, busMs, failed } = await target.server.call('publish', args));
  else failed = await publishOverHttp(target, args);
  if (failed > 0) throw new Error(`${target.label}: ${failed} of ${messages} publishes failed`);
  let latencies = await target.pool.latencies();
  const deadline = Date.now() + 10_000;
  while (latencies.length < messages && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    latencies = await target.pool.latencies();
  }
  if (latencies.length !== messages)
    throw new Error(`${target.label} (${via}): ${latencies.length} of ${messages} messages arrived`);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), ackMs, busMs };
}

/** Runs every target `runs` times per publish path, alternating order; returns samples by label and path. */
export async function comparePush(
  targets: PushTarget[],
  options: BenchOptions,
): Promise<Map<string, PushSample[]>> {
  const samples = new Map<string, PushSample[]>();
  for (const target of targets)
    await measurePush(target, 'in-process', {
      ...options,
      push: { ...options.push, messages: Math.min(200, options.push.messages) },
    });
  for (let run = 0; run < options.runs; run++)
    for (const via of ['in-process', 'HTTP'] as const) {
      const order = run % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const key = `${target.label}|${via}`;
        samples.set(key, [...(samples.get(key) ?? []), await measurePush(target, via, options)]);
      }
    }
  return samples;
}

/** p50 and p99 rows of `app` against `base` for both publish paths. */
export function pushRows(
  samples: Map<string, PushSample[]>,
  app: string,
  base: string,
  scenario: (via: PublishVia) => string,
  target?: number,
): Row[] {
  const rows: Row[] = [];
  for (const via of ['in-process', 'HTTP'] as const) {
    const mine = samples.get(`${app}|${via}`) ?? [];
    const theirs = samples.get(`${base}|${via}`) ?? [];
    for (const key of ['p50', 'p99'] as const)
      rows.push({
        scenario: scenario(via),
        metric: `${key} publish→receive`,
        unit: 'ms',
        app: median(mine.map((s) => s[key])),
        baseline: median(theirs.map((s) => s[key])),
        baselineName: base,
        ratio: median(mine.map((s, i) => ratio(s[key], theirs[i]?.[key] ?? Number.NaN))),
        digits: 2,
        ...(target ? { target: { on: 'ratio' as const, op: '<=' as const, value: target } } : {}),
      });
  }
  return rows;
}

/** Notes on where an in-process publish spends its time, per target. */
export function hopNotes(samples: Map<string, PushSample[]>, labels: string[]): string[] {
  return labels.map((label) => {
    const runs = samples.get(`${label}|in-process`) ?? [];
    const ack = median(runs.map((s) => s.ackMs));
    const bus = median(runs.map((s) => s.busMs));
    const total = median(runs.map((s) => s.p50));
    return `${label}, in-process publish, medians: publish→stored and handed to the bus ${ack.toFixed(2)} ms; publish→this instance's bus ${Number.isFinite(bus) ? `${bus.toFixed(2)} ms` : 'n/a'}; publish→received by the client ${total.toFixed(2)} ms.`;
  });
}

export async function pushScenario(options: BenchOptions): Promise<ScenarioResult> {
  const core = options.placement.serverCore;
  const targets: PushTarget[] = [];
  const servers: ServerProcess[] = [];
  try {
    for (const kind of ['baseline', 'app'] as const) {
      const server = await ServerProcess.start(kind, { core });
      servers.push(server);
      targets.push(await openPushTarget(kind, server, options.push.streams));
    }
    const samples = await comparePush(targets, options);
    const { streams, rate, messages, padBytes } = options.push;
    const rows = pushRows(
      samples,
      'app',
      'baseline',
      (via) => `push, ${streams} streams, ${rate} msg/s (${via} publish)`,
      1.5,
    );
    return {
      id: 'push',
      title: 'Push latency',
      rows,
      notes: [
        `${streams} streams (one per account), ${messages} messages of ~${padBytes} B to random accounts at ${rate}/s per run, ${options.runs} run(s) per publish path; both servers keep their streams open throughout and are measured alternately.`,
        ...hopNotes(samples, ['app']),
      ],
    };
  } finally {
    await Promise.allSettled(targets.map((t) => t.pool.close()));
    await stopAll(servers);
  }
}
