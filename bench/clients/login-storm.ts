/**
 * Login storm load, from its own process: `concurrency` logins in flight (one account each, so
 * the per-account throttle never trips) over `POST /api/login` until `logins` have succeeded, and
 * meanwhile a `GET /healthz` probe every 10 ms on its own connection, timed. In `probe` mode only
 * the probe runs, until the runner says stop (the baseline's hash loop runs in its server).
 */
import { Agent, request } from 'node:http';
import { percentile } from '../lib/stats.ts';

export interface StormJob {
  port: number;
  mode: 'logins' | 'probe';
  concurrency: number;
  logins: number;
  password: string;
}

export interface StormResult {
  perSecond: number;
  failed: number;
  probeP50: number;
  probeP99: number;
  probeMax: number;
  probes: number;
}

function call(port: number, agent: Agent, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: body ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let stopping = false;
process.on('message', async (message: StormJob | 'stop') => {
  if (message === 'stop') {
    stopping = true;
    return;
  }
  const job = message;
  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let failed = 0;
  const probing = (async () => {
    while (!stopping) {
      const started = performance.now();
      if ((await call(job.port, probeAgent, 'GET', '/healthz')) !== 200) failed++;
      latencies.push(performance.now() - started);
      const wait = started + 10 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();

  let perSecond = Number.NaN;
  if (job.mode === 'logins') {
    const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
    let next = 0;
    const started = performance.now();
    const worker = async (user: number) => {
      const body = JSON.stringify({ username: `bench${user}`, password: job.password });
      while (next++ < job.logins)
        if ((await call(job.port, agent, 'POST', '/api/login', body)) !== 200) failed++;
    };
    await Promise.all(Array.from({ length: job.concurrency }, (_, i) => worker(i)));
    perSecond = (job.logins * 1000) / (performance.now() - started);
    stopping = true;
  }
  await probing;
  const result: StormResult = {
    perSecond,
    failed,
    probeP50: percentile(latencies, 50),
    probeP99: percentile(latencies, 99),
    probeMax: percentile(latencies, 100),
    probes: latencies.length,
  };
  process.send?.(result, () => process.exit(0));
});
