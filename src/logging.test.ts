import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { RequestLogger } from './logging.ts';

function collected(level: string) {
  const lines: Record<string, unknown>[] = [];
  const parent = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let children = 0;
  const child = parent.child;
  // Counts the children made (pino's children inherit this method, so it stays pino's own).
  parent.child = function (this: typeof parent, ...args: Parameters<typeof child>) {
    children++;
    return child.apply(this, args);
  } as typeof parent.child;
  return { parent, lines, children: () => children };
}

test("a request's logger makes no pino child until it writes a line at an enabled level", () => {
  const { parent, lines, children } = collected('warn');
  const log = new RequestLogger(parent, { reqId: 'r-1' });
  log.info({ user: 'mark' }, 'incoming request');
  log.debug('detail');
  assert.equal(lines.length, 0);
  assert.equal(children(), 0, 'nothing written, nothing built');
  assert.equal(log.isLevelEnabled('info'), false);
  assert.equal(log.level, 'warn');

  log.warn({ user: 'mark' }, 'slow client');
  log.error('failed');
  assert.equal(children(), 1, 'one child, made once');
  assert.deepEqual(
    lines.map(({ reqId, msg, user, level }) => ({ reqId, msg, user, level })),
    [
      { reqId: 'r-1', msg: 'slow client', user: 'mark', level: 40 },
      { reqId: 'r-1', msg: 'failed', user: undefined, level: 50 },
    ],
  );
});

test("it follows the app's level as it changes, and its children keep the request's bindings", () => {
  const { parent, lines } = collected('warn');
  const log = new RequestLogger(parent, { reqId: 'r-2' });
  parent.level = 'info';
  log.info('now shown');
  log.child({ stream: 7 }).info('from a child');
  assert.deepEqual(
    lines.map(({ reqId, stream, msg }) => ({ reqId, stream, msg })),
    [
      { reqId: 'r-2', stream: undefined, msg: 'now shown' },
      { reqId: 'r-2', stream: 7, msg: 'from a child' },
    ],
  );
  assert.deepEqual(log.bindings(), { reqId: 'r-2' });
});
