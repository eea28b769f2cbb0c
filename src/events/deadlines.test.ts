import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDeadlineQueue, type DeadlineEntry } from './deadlines.ts';

interface Entry extends DeadlineEntry {
  name: string;
}
const entry = (name: string, deadlineMs: number): Entry => ({ name, deadlineMs, deadlineIndex: -1 });

/** Mocked timers see the clock at the end of a tick(): advance in steps to stamp calls precisely. */
function advance(t: { mock: { timers: { tick(ms: number): void } } }, ms: number, step = 1): void {
  for (let done = 0; done < ms; done += step) t.mock.timers.tick(step);
}

test('every entry comes due at its deadline, in deadline order, whatever the order added', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const due: [string, number][] = [];
  const queue = createDeadlineQueue<Entry>((e) => due.push([e.name, Date.now()]));
  t.after(() => queue.close());
  const deadlines = [500, 120, 900, 120, 50, 700, 300, 1000, 10, 640];
  deadlines.forEach((at, i) => {
    queue.add(entry(`e${i}`, at));
  });
  advance(t, 1100);
  assert.deepEqual(
    due.map(([, at]) => at),
    [...deadlines].sort((a, b) => a - b),
  );
  assert.equal(queue.size, 0);
});

test('an entry removed before its deadline never comes due, and the rest still do', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const due: string[] = [];
  const queue = createDeadlineQueue<Entry>((e) => due.push(e.name));
  t.after(() => queue.close());
  const entries = Array.from({ length: 200 }, (_, i) => entry(`e${i}`, 10 + ((i * 7919) % 1000)));
  for (const e of entries) queue.add(e);
  const removed = entries.filter((_, i) => i % 3 === 0);
  for (const e of removed) queue.remove(e);
  assert.ok(removed.every((e) => e.deadlineIndex === -1));
  advance(t, 1100, 10);
  assert.deepEqual(new Set(due), new Set(entries.filter((_, i) => i % 3 !== 0).map((e) => e.name)));
});

test('an earlier deadline added later still comes due on time', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const due: [string, number][] = [];
  const queue = createDeadlineQueue<Entry>((e) => due.push([e.name, Date.now()]));
  t.after(() => queue.close());
  queue.add(entry('late', 1000));
  advance(t, 100);
  queue.add(entry('early', 300));
  advance(t, 1000);
  assert.deepEqual(due, [
    ['early', 300],
    ['late', 1000],
  ]);
});

test('a deadline beyond what setTimeout can wait is still met', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const due: string[] = [];
  const queue = createDeadlineQueue<Entry>((e) => due.push(e.name));
  t.after(() => queue.close());
  const far = 2 ** 31 + 5000;
  queue.add(entry('far', far));
  t.mock.timers.tick(2 ** 31 - 1);
  assert.deepEqual(due, []);
  t.mock.timers.tick(5001);
  t.mock.timers.tick(1);
  assert.deepEqual(due, ['far']);
});

test('close drops every entry', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const due: string[] = [];
  const queue = createDeadlineQueue<Entry>((e) => due.push(e.name));
  const e = entry('a', 10);
  queue.add(e);
  queue.close();
  advance(t, 50);
  assert.deepEqual(due, []);
  assert.equal(e.deadlineIndex, -1);
});
