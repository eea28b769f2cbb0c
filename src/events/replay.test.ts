import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planResume } from './replay.ts';
import type { StoredEvent } from './types.ts';

const event = (id: number): StoredEvent => ({ id, recipient: 'mark', data: '{}', createdAt: 0 });

test('replays when the log holds everything after the id', () => {
  const events = [event(5), event(9)];
  assert.deepEqual(planResume(4, { events, prunedThrough: 3, latestId: 12 }, 10), { kind: 'replay', events });
  assert.deepEqual(planResume(12, { events: [], prunedThrough: 12, latestId: 12 }, 10), {
    kind: 'replay',
    events: [],
  });
});

test('reloads when retention deleted something after the id', () => {
  assert.equal(planResume(4, { events: [event(9)], prunedThrough: 5, latestId: 9 }, 10).kind, 'reload');
});

test('reloads for an id the log never issued', () => {
  assert.equal(planResume(50, { events: [], prunedThrough: 0, latestId: 49 }, 10).kind, 'reload');
});

test('reloads when more than the limit was missed, replays exactly at the limit', () => {
  const eleven = Array.from({ length: 11 }, (_, i) => event(i + 1));
  assert.equal(planResume(0, { events: eleven, prunedThrough: 0, latestId: 11 }, 10).kind, 'reload');
  assert.equal(
    planResume(0, { events: eleven.slice(0, 10), prunedThrough: 0, latestId: 10 }, 10).kind,
    'replay',
  );
});
