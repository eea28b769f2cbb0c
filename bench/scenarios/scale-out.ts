/**
 * The same push and broadcast on PostgreSQL + Redis (the scale-out configuration) against the
 * embedded SQLite one, in the same run, with where an in-process publish spends its time: the
 * log append (an SQL insert, or one Lua script that appends and publishes), the bus hop (in
 * process, or Redis pub/sub back to this instance) and the fan-out to the readers.
 */
import type { BenchOptions } from '../lib/options.ts';
import type { ScenarioResult } from '../lib/report.ts';
import { ServerProcess } from '../lib/server-process.ts';
import { scaleOutScratch } from '../lib/services.ts';
import { stopAll } from '../lib/targets.ts';
import { broadcastRows, measureFanout } from './fanout.ts';
import { comparePush, hopNotes, openPushTarget, type PushTarget, pushRows } from './push.ts';

const SCALED = 'PostgreSQL + Redis';

export async function scaleOutScenario(options: BenchOptions): Promise<ScenarioResult> {
  const scratch = await scaleOutScratch();
  if (!scratch) {
    if (process.env.CI) throw new Error('PostgreSQL or Redis is unavailable');
    return {
      id: 'scale-out',
      title: 'Scale-out',
      rows: [],
      notes: ['Skipped: PostgreSQL or Redis is unavailable.'],
    };
  }
  const core = options.placement.serverCore;
  const targets: PushTarget[] = [];
  const servers: ServerProcess[] = [];
  try {
    for (const [label, env] of [
      ['SQLite', {}],
      [SCALED, scratch.env],
    ] as const) {
      const server = await ServerProcess.start('app', { core, env: { BENCH_ENV: JSON.stringify(env) } });
      servers.push(server);
      targets.push(await openPushTarget(label, server, options.push.streams));
    }
    const samples = await comparePush(targets, options);
    await Promise.allSettled(targets.map((t) => t.pool.close()));
    await stopAll(servers);
    const sqlite = await measureFanout('app', options, { idle: false });
    const scaled = await measureFanout('app', options, { env: scratch.env, idle: false });
    const { streams, rate } = options.push;
    return {
      id: 'scale-out',
      title: 'Scale-out: PostgreSQL + Redis against SQLite',
      rows: [
        ...pushRows(
          samples,
          SCALED,
          'SQLite',
          (via) => `${SCALED}: push, ${streams} streams, ${rate} msg/s (${via})`,
        ),
        ...broadcastRows(scaled, sqlite, `${SCALED}: broadcast to ${options.fanout.streams} streams`),
      ],
      notes: [
        'Ratios here are PostgreSQL + Redis over SQLite (both the app), measured in the same run; the shared services may be busy with other work.',
        ...hopNotes(samples, ['SQLite', SCALED]),
        `Broadcast times (ms), ${SCALED}: ${scaled.broadcastMs.map((t) => t.toFixed(0)).join(', ')}; SQLite: ${sqlite.broadcastMs.map((t) => t.toFixed(0)).join(', ')}.`,
      ],
    };
  } finally {
    await Promise.allSettled(targets.map((t) => t.pool.close()));
    await stopAll(servers);
    await scratch.remove();
  }
}
