import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatComment, formatEvent } from './format.ts';

test('formats id, event, retry and multi-line data', () => {
  assert.equal(formatEvent({ id: 3, data: '{"a":1}' }), 'id: 3\ndata: {"a":1}\n\n');
  assert.equal(
    formatEvent({ event: 'auth', data: 'a\nb\r\nc\rd' }),
    'event: auth\ndata: a\ndata: b\ndata: c\ndata: d\n\n',
  );
  assert.equal(formatEvent({ retry: 2000 }), 'retry: 2000\n\n');
});

test('a payload cannot end the event early or inject fields', () => {
  const out = formatEvent({ id: 1, data: 'x\n\nevent: auth\nid: 999' });
  assert.equal(out, 'id: 1\ndata: x\ndata: \ndata: event: auth\ndata: id: 999\n\n');
});

test('refuses CR, LF or NUL in id and event, and a bad retry', () => {
  assert.throws(() => formatEvent({ id: '1\n2' }), TypeError);
  assert.throws(() => formatEvent({ event: 'a\rb' }), TypeError);
  assert.throws(() => formatEvent({ retry: -1 }), TypeError);
  assert.equal(formatComment('a\nb'), ': a b\n\n');
});
