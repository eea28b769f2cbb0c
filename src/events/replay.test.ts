import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planResume } from './replay.ts';
import type { StoredEvent } from './types.ts';

const event = (id: number): StoredEvent => ({ id, recipient: 'mark', data: '{}', createdAt: 0 });

test('replays when the log holds everything after the id', () => {
  const events = [event(5), event(9)];
  assert.deepEqual(planResume(4, { events, prunedThrough: 3, latestId: 12, epoch: 0 }, 10), {
    kind: 'replay',
    events,
  });
  assert.deepEqual(planResume(12, { events: [], prunedThrough: 12, latestId: 12, epoch: 0 }, 10), {
    kind: 'replay',
    events: [],
  });
});

test('reloads when retention deleted something after the id', () => {
  assert.equal(
    planResume(4, { events: [event(9)], prunedThrough: 5, latestId: 9, epoch: 0 }, 10).kind,
    'reload',
  );
});

test('reloads for an id the log never issued', () => {
  assert.equal(planResume(50, { events: [], prunedThrough: 0, latestId: 49, epoch: 0 }, 10).kind, 'reload');
});

test('reloads when more than the limit was missed, replays exactly at the limit', () => {
  const eleven = Array.from({ length: 11 }, (_, i) => event(i + 1));
  assert.equal(
    planResume(0, { events: eleven, prunedThrough: 0, latestId: 11, epoch: 0 }, 10).kind,
    'reload',
  );
  assert.equal(
    planResume(0, { events: eleven.slice(0, 10), prunedThrough: 0, latestId: 10, epoch: 0 }, 10).kind,
    'replay',
  );
});

test('reloads with log-reset for an id from an older log, even one the new log has passed', () => {
  // Redis came back empty: the new log's ids start at its epoch, above every id of the old one.
  const epoch = 176_000_000_000_000;
  const window = { events: [event(epoch + 1)], prunedThrough: 0, latestId: epoch + 1, epoch };
  assert.deepEqual(planResume(42, window, 10), { kind: 'reload', reason: 'log-reset' });
  assert.deepEqual(planResume(epoch, window, 10), { kind: 'replay', events: [event(epoch + 1)] });
  // 0 is "from the start", whichever log that is.
  assert.deepEqual(planResume(0, window, 10), { kind: 'replay', events: [event(epoch + 1)] });
});
