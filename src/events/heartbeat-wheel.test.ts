import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHeartbeatWheel, type WheelEntry } from './heartbeat-wheel.ts';

const entry = (): WheelEntry & { beats: number[] } => ({ wheelSlot: -1, beats: [] });

/** Mocked timers see the clock at the end of a tick(): advance in steps to stamp beats precisely. */
function advance(t: { mock: { timers: { tick(ms: number): void } } }, ms: number, step = 5): void {
  for (let done = 0; done < ms; done += step) t.mock.timers.tick(step);
}

test('each stream gets one heartbeat per period, from one timer, the first one period after it joins', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const wheel = createHeartbeatWheel<ReturnType<typeof entry>>(1600, (e) => e.beats.push(Date.now()));
  t.after(() => wheel.close());
  const streams = Array.from({ length: 50 }, () => entry());
  for (const [i, stream] of streams.entries()) {
    advance(t, 35 * (i % 3));
    wheel.add(stream);
    (stream as { joined?: number }).joined = Date.now();
  }
  advance(t, 1600 * 5);
  for (const stream of streams) {
    const joined = (stream as { joined?: number }).joined ?? 0;
    assert.ok(stream.beats.length >= 4 && stream.beats.length <= 6, `${stream.beats.length} beats`);
    const first = (stream.beats[0] ?? 0) - joined;
    assert.ok(first >= 1600 - 100 && first <= 1600, `first beat after ${first} ms`);
    for (let i = 1; i < stream.beats.length; i++)
      assert.equal((stream.beats[i] ?? 0) - (stream.beats[i - 1] ?? 0), 1600, 'exactly one period apart');
  }
});

test('a removed stream gets no more heartbeats, even when removed during a beat', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let beats = 0;
  const streams = [entry(), entry(), entry()];
  const wheel = createHeartbeatWheel<ReturnType<typeof entry>>(1000, (e) => {
    beats++;
    wheel.remove(e);
  });
  t.after(() => wheel.close());
  for (const stream of streams) wheel.add(stream);
  assert.equal(wheel.size, 3);
  t.mock.timers.tick(3000);
  assert.equal(beats, 3, 'each beat once, then gone');
  assert.equal(wheel.size, 0);
  assert.ok(streams.every((s) => s.wheelSlot === -1));
});

test('adding twice or removing what is not there changes nothing', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const wheel = createHeartbeatWheel<ReturnType<typeof entry>>(1000, (e) => e.beats.push(1));
  t.after(() => wheel.close());
  const stream = entry();
  wheel.remove(stream);
  wheel.add(stream);
  wheel.add(stream);
  assert.equal(wheel.size, 1);
  t.mock.timers.tick(1000);
  assert.equal(stream.beats.length, 1);
});

test('close stops every heartbeat', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const stream = entry();
  const wheel = createHeartbeatWheel<ReturnType<typeof entry>>(1000, (e) => e.beats.push(1));
  wheel.add(stream);
  wheel.close();
  t.mock.timers.tick(5000);
  assert.equal(stream.beats.length, 0);
  assert.equal(wheel.size, 0);
});
