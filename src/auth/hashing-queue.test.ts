import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import { createHashingQueue } from './hashing-queue.ts';

/** A job that finishes when the test says so, and says when it started. */
function gate() {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  const job = {
    started: false,
    open,
    fail,
    run: () => {
      job.started = true;
      return done;
    },
  };
  return job;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('runs at most `concurrency` jobs at once; the others start in arrival order as slots free', async () => {
  const queue = createHashingQueue({ concurrency: 2, maxWaitMs: 60_000, maxWaiting: 100 });
  const jobs = Array.from({ length: 5 }, gate);
  const results = jobs.map((job) => queue.run(job.run));
  await tick();
  assert.deepEqual(
    jobs.map((job) => job.started),
    [true, true, false, false, false],
  );
  assert.equal(queue.running, 2);
  assert.equal(queue.waiting, 3);
  jobs[1]?.open();
  await tick();
  assert.deepEqual(
    jobs.map((job) => job.started),
    [true, true, true, false, false],
    'the oldest waiting job takes the freed slot',
  );
  // A failing job frees its slot too, and its caller gets the failure.
  jobs[0]?.fail(new Error('boom'));
  await assert.rejects(results[0] as Promise<void>, /boom/);
  await tick();
  assert.equal(jobs[3]?.started, true);
  for (const job of jobs) job.open();
  await Promise.all(results.slice(1));
  assert.equal(queue.running, 0);
  assert.equal(queue.waiting, 0);
});

test('refuses with 503 and Retry-After a job whose expected wait is past the limit, then admits again', async () => {
  const clock = { now: 0 };
  const queue = createHashingQueue({
    concurrency: 1,
    maxWaitMs: 1000,
    maxWaiting: 100,
    now: () => clock.now,
  });
  // One job that took 300 ms teaches the queue how long a hash takes.
  const first = gate();
  const measured = queue.run(first.run);
  clock.now = 300;
  first.open();
  await measured;

  const running = gate();
  const results = [queue.run(running.run)];
  const waiting = Array.from({ length: 3 }, gate);
  // Behind the running job: 300, 600 and 900 ms of expected wait: all admitted.
  for (const job of waiting) results.push(queue.run(job.run));
  // A fourth would wait ~1200 ms.
  const refused = await queue.run(gate().run).then(
    () => assert.fail('admitted'),
    (error: unknown) => error,
  );
  assert.ok(refused instanceof ServiceUnavailableError);
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.dependency, 'password-hashing');
  assert.equal(refused.retryAfterSeconds, 2, 'the expected wait, rounded up to seconds');
  assert.equal(queue.waiting, 3, 'a refused job takes no place in the queue');

  clock.now = 600;
  running.open();
  await tick();
  // One fewer ahead: a new job would wait ~900 ms, which is within the limit.
  results.push(queue.run(gate().run).catch(() => {}));
  assert.equal(queue.waiting, 3);
  for (const job of waiting) job.open();
  await Promise.all(results.slice(0, 4));
});

test('refuses beyond `maxWaiting` whatever the estimate (before any job has finished)', async () => {
  const queue = createHashingQueue({ concurrency: 1, maxWaitMs: 60_000, maxWaiting: 2 });
  const jobs = Array.from({ length: 3 }, gate);
  const results = jobs.map((job) => queue.run(job.run));
  await assert.rejects(queue.run(gate().run), ServiceUnavailableError);
  for (const job of jobs) job.open();
  await Promise.all(results);
});
