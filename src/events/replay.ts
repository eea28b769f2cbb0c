import type { ReplayWindow, StoredEvent } from './types.ts';

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
