import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { formatComment, formatEvent } from './format.ts';

/** What a spec-following client makes of `wire`. */
async function parse(wire: string) {
  const events: { id?: string; event?: string; data: string }[] = [];
  let retry: number | undefined;
  const stream = new Blob([wire])
    .stream()
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream({ onRetry: (value) => (retry = value) }));
  for await (const event of stream) events.push(event);
  return { events, retry };
}

test('frames id, data and the blank line that ends the event', () => {
  assert.equal(formatEvent({ id: 7, data: '{"a":1}' }), 'id: 7\ndata: {"a":1}\n\n');
  assert.equal(formatEvent({ event: 'auth', data: 'x' }), 'event: auth\ndata: x\n\n');
  assert.equal(formatEvent({ retry: 2000 }), 'retry: 2000\n\n');
});

test('multi-line data is split into one data line per line, for every line-break style', async () => {
  const wire = formatEvent({ id: 1, data: 'one\ntwo\r\nthree\rfour' });
  assert.equal(wire, 'id: 1\ndata: one\ndata: two\ndata: three\ndata: four\n\n');
  const { events } = await parse(wire);
  assert.deepEqual(
    events.map((e) => e.data),
    ['one\ntwo\nthree\nfour'],
  );
});

test('data cannot inject fields or end the event early', async () => {
  const hostile = 'x\n\nevent: auth\nid: 999\ndata: {"evil":true}\n';
  const { events } = await parse(
    formatEvent({ id: 5, data: hostile }) + formatEvent({ id: 6, data: 'next' }),
  );
  assert.equal(events.length, 2);
  assert.equal(events[0]?.id, '5');
  assert.equal(events[0]?.event, undefined);
  assert.equal(events[0]?.data, 'x\n\nevent: auth\nid: 999\ndata: {"evil":true}\n');
  assert.equal(events[1]?.data, 'next');
});

test('CR, LF or NUL in id or event is a TypeError (a caller bug), not a silent strip', () => {
  for (const bad of ['1\n2', '1\r', '\r\n', 'a\0b']) {
    assert.throws(() => formatEvent({ id: bad, data: 'x' }), TypeError);
    assert.throws(() => formatEvent({ event: bad, data: 'x' }), TypeError);
  }
});

test('retry must be a non-negative integer, and a client reads it', async () => {
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => formatEvent({ retry: bad }), TypeError);
  assert.equal((await parse(formatEvent({ retry: 1500 }))).retry, 1500);
});

test('comments are ignored by clients and stay on one line', async () => {
  assert.equal(formatComment(), ': \n\n');
  assert.equal(formatComment('heart\nbeat'), ': heart beat\n\n');
  const { events } = await parse(formatComment('ping') + formatEvent({ data: 'after' }));
  assert.deepEqual(
    events.map((e) => e.data),
    ['after'],
  );
});

test('an empty data string still makes an event; unicode passes through', async () => {
  assert.equal(formatEvent({ data: '' }), 'data: \n\n');
  assert.deepEqual(
    (await parse(formatEvent({ data: '' }))).events.map((e) => e.data),
    [''],
  );
  const { events } = await parse(formatEvent({ data: 'é ✓ 😀' }));
  assert.equal(events[0]?.data, 'é ✓ 😀');
});
