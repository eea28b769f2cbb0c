/**
 * Login storm: `concurrency` concurrent logins at the configured bcrypt cost against a bcrypt
 * compare loop at the same cost and concurrency in the bare server (bcrypt is the floor: a login
 * is one compare plus a few queries), with a /healthz probe timing the event loop meanwhile.
 */
import { fork } from 'node:child_process';
import type { StormJob, StormResult } from '../clients/login-storm.ts';
import type { BenchOptions } from '../lib/options.ts';
import type { ScenarioResult } from '../lib/report.ts';
import { ServerProcess } from '../lib/server-process.ts';
import { median, ratio } from '../lib/stats.ts';
import { stopAll } from '../lib/targets.ts';
import { BENCH_PASSWORD } from '../servers/ipc.ts';

function startStorm(job: StormJob): { result: Promise<StormResult>; stop(): void } {
  const child = fork(new URL('../clients/login-storm.ts', import.meta.url));
  const result = new Promise<StormResult>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`login storm process exited (${code})`)));
  });
  child.send(job);
  return { result, stop: () => child.send('stop') };
}

export async function loginScenario(options: BenchOptions): Promise<ScenarioResult> {
  const { rounds, concurrency, logins } = options.login;
  const core = options.placement.serverCore;
  let app: ServerProcess | undefined;
  let baseline: ServerProcess | undefined;
  try {
    [app, baseline] = await Promise.all([
      ServerProcess.start('app', {
        core,
        env: { BENCH_ENV: JSON.stringify({ BCRYPT_ROUNDS: String(rounds) }) },
      }),
      ServerProcess.start('baseline', { core }),
    ]);
    await app.call('setup', { users: concurrency, courses: 0, login: false });
    const appRuns: StormResult[] = [];
    const loopRuns: (StormResult & { loop: number })[] = [];
    for (let run = 0; run < options.runs; run++) {
      const storm = startStorm({
        port: app.port,
        mode: 'logins',
        concurrency,
        logins,
        password: BENCH_PASSWORD,
      });
      const result = await storm.result;
      if (result.failed > 0) throw new Error(`login storm: ${result.failed} logins or probes failed`);
      appRuns.push(result);
      const probe = startStorm({ port: baseline.port, mode: 'probe', concurrency, logins, password: '' });
      const { perSecond } = await baseline.call('hashLoop', { rounds, concurrency, count: logins });
      probe.stop();
      loopRuns.push({ ...(await probe.result), loop: perSecond });
    }
    const scenario = `login storm, ${concurrency} concurrent, bcrypt cost ${rounds}`;
    const appRate = median(appRuns.map((r) => r.perSecond));
    const loopRate = median(loopRuns.map((r) => r.loop));
    return {
      id: 'login',
      title: 'Login storm',
      rows: [
        {
          scenario,
          metric: 'logins/s vs bcrypt compares/s',
          unit: '/s',
          app: appRate,
          baseline: loopRate,
          ratio: median(appRuns.map((r, i) => ratio(r.perSecond, loopRuns[i]?.loop ?? Number.NaN))),
          target: { on: 'ratio', op: '>=', value: 0.9 },
          digits: 2,
        },
        {
          scenario,
          metric: '`GET /healthz` p99 meanwhile',
          unit: 'ms',
          app: median(appRuns.map((r) => r.probeP99)),
          baseline: median(loopRuns.map((r) => r.probeP99)),
          ratio: null,
          target: { on: 'app', op: '<=', value: 10 },
          digits: 2,
        },
      ],
      notes: [
        `${logins} logins over \`POST /api/login\` per run, ${concurrency} in flight (${concurrency} accounts), ${options.runs} run(s); the baseline runs bcrypt.compare at the same cost and concurrency in the bare server. A /healthz probe every 10 ms on its own connection: app p50 ${median(appRuns.map((r) => r.probeP50)).toFixed(2)} ms, max ${median(appRuns.map((r) => r.probeMax)).toFixed(1)} ms; during the hash loop p50 ${median(loopRuns.map((r) => r.probeP50)).toFixed(2)} ms, max ${median(loopRuns.map((r) => r.probeMax)).toFixed(1)} ms.`,
      ],
    };
  } finally {
    await stopAll([app, baseline]);
  }
}
