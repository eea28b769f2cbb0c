import { setImmediate } from 'node:timers/promises';
import type { EventLog, ReplayWindow, StoredEvent } from './types.ts';

export type ResumePlan =
  | { kind: 'replay'; events: StoredEvent[] }
  | { kind: 'reload'; reason: 'replay-gap' | 'log-reset' };

/**
 * What a stream resuming after `afterId` must do. Replay only when the log provably holds every
 * message the client missed; otherwise tell it to reload (a fresh page carries a fresh id) rather
 * than continue with a silent gap:
 * - an id from an older log (below the epoch: Redis came back empty) — `log-reset`; 0 is no
 *   id but "from the start", of whichever log there is (pages always get a real id);
 * - an id the log never issued (the log was reset, or it belongs to another deployment);
 * - retention already deleted a message after that id for this user or for everyone;
 * - more messages than the replay limit (replaying them would cost more than a reload).
 */
export function planResume(afterId: number, window: ReplayWindow, limit: number): ResumePlan {
  if (afterId !== 0 && afterId < window.epoch) return { kind: 'reload', reason: 'log-reset' };
  if (afterId > window.latestId) return { kind: 'reload', reason: 'replay-gap' };
  if (window.prunedThrough > afterId) return { kind: 'reload', reason: 'replay-gap' };
  if (window.events.length > limit) return { kind: 'reload', reason: 'replay-gap' };
  return { kind: 'replay', events: window.events };
}

export interface ReplayLimits {
  /** More messages than this: reload (SSE_REPLAY_LIMIT). */
  maxMessages: number;
  /** More bytes of messages than this: reload (SSE_REPLAY_MAX_BYTES). */
  maxBytes: number;
  /** Messages read per query. */
  batchSize: number;
}

/**
 * Reads what a stream resuming after `afterId` missed and decides between replay and reload, the
 * rules of `planResume` applied to every batch. One resume costs bounded memory and never holds
 * the event loop for long (node:sqlite reads synchronously): the log is read in batches of
 * `batchSize` messages with a turn of the event loop between them, and reading stops as soon as
 * the replay would pass `maxMessages` or `maxBytes` — then the client reloads. A batch holds at
 * most `batchSize` messages, each within the message limit, and the log holds at most its byte
 * budget per recipient; so a resume reads at most `maxBytes` plus one batch.
 */
export async function readReplay(
  log: Pick<EventLog, 'readAfter'>,
  recipients: string[],
  afterId: number,
  limits: ReplayLimits,
): Promise<ResumePlan> {
  const events: StoredEvent[] = [];
  let bytes = 0;
  let cursor = afterId;
  for (;;) {
    // At most `batchSize` messages: readAfter returns up to its limit + 1.
    const window = await log.readAfter(recipients, cursor, limits.batchSize - 1);
    // The gap rules hold batch by batch: a prune between two reads shows in the later horizon.
    const plan = planResume(cursor, window, Number.POSITIVE_INFINITY);
    if (plan.kind === 'reload') return plan;
    for (const event of window.events) bytes += Buffer.byteLength(event.data);
    events.push(...window.events);
    if (events.length > limits.maxMessages || bytes > limits.maxBytes)
      return { kind: 'reload', reason: 'replay-gap' };
    const last = window.events.at(-1);
    if (window.events.length < limits.batchSize || last === undefined) return { kind: 'replay', events };
    cursor = last.id;
    await setImmediate();
  }
}
