/** What a bench run does: quick (CI smoke: every scenario, small, no timing asserted) or full. */
import type { Placement } from './machine.ts';

export interface BenchOptions {
  quick: boolean;
  placement: Placement;
  /** Repeats of each measured comparison; figures are their medians. */
  runs: number;
  http: { seconds: number; warmupSeconds: number; connections: number };
  push: { streams: number; rate: number; messages: number; padBytes: number };
  fanout: {
    streams: number;
    broadcasts: number;
    padBytes: number;
    idleSeconds: number;
    stalled: number;
    slowBroadcasts: number;
    slowPadBytes: number;
    /** SSE_MAX_BUFFERED_BYTES for the slow-client phase (small, so stalled clients pass it soon). */
    slowBufferBytes: number;
  };
  login: { rounds: number; concurrency: number; logins: number };
  startup: { runs: number };
}

export const SCENARIOS = ['http', 'push', 'fanout', 'slow', 'login', 'startup', 'scale-out'] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

export function benchOptions(quick: boolean, placement: Placement, runs?: number): BenchOptions {
  if (quick)
    return {
      quick,
      placement,
      runs: runs ?? 1,
      http: { seconds: 1, warmupSeconds: 0, connections: 20 },
      push: { streams: 50, rate: 200, messages: 100, padBytes: 200 },
      fanout: {
        streams: 200,
        broadcasts: 3,
        padBytes: 200,
        idleSeconds: 1,
        stalled: 4,
        slowBroadcasts: 50,
        slowPadBytes: 2048,
        slowBufferBytes: 16384,
      },
      login: { rounds: 4, concurrency: 32, logins: 64 },
      startup: { runs: 1 },
    };
  return {
    quick,
    placement,
    runs: runs ?? 3,
    http: { seconds: 5, warmupSeconds: 2, connections: 100 },
    push: { streams: 1000, rate: 200, messages: 2000, padBytes: 200 },
    fanout: {
      streams: 10_000,
      broadcasts: 15,
      padBytes: 200,
      idleSeconds: 30,
      stalled: 100,
      slowBroadcasts: 80,
      slowPadBytes: 2048,
      slowBufferBytes: 32768,
    },
    login: { rounds: 12, concurrency: 32, logins: 96 },
    startup: { runs: 5 },
  };
}
