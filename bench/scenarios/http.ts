/**
 * Request/response throughput under wrk: `GET /api/me` (bearer and cookie), `GET /healthz` and
 * the `GET /protected` page, each against bare node:http doing the least the same answer needs
 * (a JSON hello; the page's own bytes). Also reports server CPU per request, which a noisy
 * machine disturbs less than req/s.
 */
import type { BenchOptions } from '../lib/options.ts';
import type { Row, ScenarioResult } from '../lib/report.ts';
import { ServerProcess } from '../lib/server-process.ts';
import { median, ratio } from '../lib/stats.ts';
import { expectStatus, stopAll } from '../lib/targets.ts';
import { type WrkResult, wrk } from '../lib/wrk.ts';
import { BENCH_METRICS_KEY } from '../servers/ipc.ts';

interface Probe {
  metric: string;
  server: 'app' | 'baseline' | 'metrics';
  path: string;
  headers: Record<string, string>;
  /** The baseline probe this one is compared with. */
  against?: string;
  target?: number;
}

interface Sample extends WrkResult {
  cpuUsPerRequest: number;
}

async function measure(
  server: ServerProcess,
  probe: Probe,
  seconds: number,
  connections: number,
): Promise<Sample> {
  const cpuBefore = server.cpuSeconds();
  const result = await wrk(`${server.url}${probe.path}`, { seconds, connections, headers: probe.headers });
  const cpu = server.cpuSeconds() - cpuBefore;
  if (result.errors > 0 || !(result.requests > 0))
    throw new Error(`${probe.metric}: ${result.errors} errors in ${result.requests} requests`);
  return { ...result, cpuUsPerRequest: (cpu * 1e6) / result.requests };
}

function timeoutNote(samples: Sample[]): string {
  const timeouts = samples.reduce((sum, s) => sum + s.timeouts, 0);
  return timeouts > 0 ? `; ${timeouts} request(s) unanswered within 10 s` : '';
}

export async function httpScenario(options: BenchOptions): Promise<ScenarioResult> {
  const { runs, http } = options;
  const core = options.placement.serverCore;
  let app: ServerProcess | undefined;
  let baseline: ServerProcess | undefined;
  // The same app with Prometheus metrics on: what the HTTP duration histogram costs.
  let measured: ServerProcess | undefined;
  try {
    [app, baseline, measured] = await Promise.all([
      ServerProcess.start('app', { core }),
      ServerProcess.start('baseline', { core }),
      ServerProcess.start('app', {
        core,
        env: { BENCH_ENV: JSON.stringify({ METRICS_API_KEY: BENCH_METRICS_KEY }) },
      }),
    ]);
    const { tokens } = await app.call('setup', { users: 1, courses: 5 });
    const measuredToken = (await measured.call('setup', { users: 1, courses: 0 })).tokens[0];
    const measuredBearer = { authorization: `Bearer ${measuredToken}` };
    await expectStatus(measured, '/api/me', measuredBearer);
    const bearer = { authorization: `Bearer ${tokens[0]}` };
    // A browser sends its CSRF secret cookie back: take the one the page sets, as a browser would.
    const first = await expectStatus(app, '/protected', { cookie: `access_token=${tokens[0]}` });
    const csrf = first.headers
      .getSetCookie()
      .find((c) => c.startsWith('_csrf='))
      ?.split(';')[0];
    const cookie = { cookie: [`access_token=${tokens[0]}`, csrf].filter(Boolean).join('; ') };
    const page = await (await expectStatus(app, '/protected', cookie)).text();
    await baseline.call('setPage', { html: page });
    await expectStatus(app, '/api/me', bearer);
    await expectStatus(app, '/api/me', cookie);

    const probes: Probe[] = [
      { metric: 'hello', server: 'baseline', path: '/hello', headers: {} },
      { metric: 'page bytes', server: 'baseline', path: '/page', headers: {} },
      {
        metric: '`GET /api/me` (bearer)',
        server: 'app',
        path: '/api/me',
        headers: bearer,
        against: 'hello',
        target: 0.7,
      },
      {
        metric: '`GET /api/me` (cookie)',
        server: 'app',
        path: '/api/me',
        headers: cookie,
        against: 'hello',
        target: 0.7,
      },
      { metric: '`GET /healthz`', server: 'app', path: '/healthz', headers: {}, against: 'hello' },
      {
        metric: '`GET /api/me` (bearer), METRICS_API_KEY set',
        server: 'metrics',
        path: '/api/me',
        headers: measuredBearer,
        against: 'hello',
      },
      {
        metric: '`GET /protected` page',
        server: 'app',
        path: '/protected',
        headers: cookie,
        against: 'page bytes',
        target: 0.5,
      },
    ];
    const serverOf = (probe: Probe) =>
      (probe.server === 'app' ? app : probe.server === 'metrics' ? measured : baseline) as ServerProcess;
    if (http.warmupSeconds > 0)
      for (const probe of probes) await measure(serverOf(probe), probe, http.warmupSeconds, http.connections);

    const samples = new Map<string, Sample[]>(probes.map((p) => [p.metric, []]));
    for (let run = 0; run < runs; run++) {
      // Alternate the order so a drift in the machine's load does not always favour one side.
      const order = run % 2 === 0 ? probes : [...probes].reverse();
      for (const probe of order)
        samples
          .get(probe.metric)
          ?.push(await measure(serverOf(probe), probe, http.seconds, http.connections));
    }

    const rows: Row[] = [];
    const notes: string[] = [
      `wrk, ${http.connections} keep-alive connections, ${http.seconds} s per measurement, ${runs} run(s) after a ${http.warmupSeconds} s warm-up per route; the app runs with DEBUG=false, LOG_LEVEL=warn, SQLite.`,
    ];
    for (const probe of probes) {
      const mine = samples.get(probe.metric) ?? [];
      const theirs = probe.against ? (samples.get(probe.against) ?? []) : [];
      const cpu = median(mine.map((s) => s.cpuUsPerRequest));
      notes.push(
        `${probe.metric} (${probe.server} ${probe.path}): ${mine.map((s) => s.requestsPerSecond.toFixed(0)).join(', ')} req/s; p50 ${median(mine.map((s) => s.p50Ms)).toFixed(2)} ms, p99 ${median(mine.map((s) => s.p99Ms)).toFixed(2)} ms; server CPU ${cpu.toFixed(1)} µs/request${timeoutNote(mine)}`,
      );
      if (!probe.against) continue;
      rows.push({
        scenario: probe.metric,
        metric: 'requests/s',
        unit: '',
        app: median(mine.map((s) => s.requestsPerSecond)),
        baseline: median(theirs.map((s) => s.requestsPerSecond)),
        baselineName: probe.against,
        ratio: median(
          mine.map((s, i) => ratio(s.requestsPerSecond, theirs[i]?.requestsPerSecond ?? Number.NaN)),
        ),
        digits: 0,
        ...(probe.target ? { target: { on: 'ratio' as const, op: '>=' as const, value: probe.target } } : {}),
      });
      rows.push({
        scenario: probe.metric,
        metric: 'server CPU per request',
        unit: 'µs',
        app: cpu,
        baseline: median(theirs.map((s) => s.cpuUsPerRequest)),
        ratio: median(mine.map((s, i) => ratio(s.cpuUsPerRequest, theirs[i]?.cpuUsPerRequest ?? Number.NaN))),
      });
    }
    return { id: 'http', title: 'HTTP routes under wrk', rows, notes };
  } finally {
    await stopAll([app, baseline, measured]);
  }
}
