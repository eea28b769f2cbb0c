import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSseParser } from './sse-parser.ts';

function parse(chunks: string[], lastId = '') {
  const events: [string, string, string][] = [];
  const retries: number[] = [];
  const feed = createSseParser(
    (...event) => events.push(event),
    (ms) => retries.push(ms),
    lastId,
  );
  for (const chunk of chunks) feed(chunk);
  return { events, retries };
}

test('parses ids, named events, multi-line data, comments and retry', () => {
  const { events, retries } = parse([
    'retry: 2500\n\n: heartbeat\n\nid: 7\ndata: {"a":1}\n\n',
    'event: auth\ndata: line one\ndata: line two\n\n',
  ]);
  assert.deepEqual(events, [
    ['message', '{"a":1}', '7'],
    ['auth', 'line one\nline two', '7'],
  ]);
  assert.deepEqual(retries, [2500]);
});

test('joins lines split across chunks, including a CR LF split between chunks', () => {
  const { events } = parse(['id: 1\r', '\ndata: {"b"', ':2}\r', '\n\r\nda', 'ta:x\r\rdata:y\n\n']);
  assert.deepEqual(events, [
    ['message', '{"b":2}', '1'],
    ['message', 'x', '1'],
    ['message', 'y', '1'],
  ]);
});

test('keeps the resume id across events and reports an id-only block so it is not lost', () => {
  const { events } = parse(['data: a\n\nid: 9\n\nid: 9\n\ndata: b\n\n'], '5');
  assert.deepEqual(events, [
    ['message', 'a', '5'],
    ['', '', '9'],
    ['message', 'b', '9'],
  ]);
});

test('ignores ids with NUL, non-numeric retry and unknown fields; a field without colon is empty', () => {
  const { events, retries } = parse(['id: a\0b\nretry: soon\nfoo: bar\ndata\n\n']);
  assert.deepEqual(events, [['message', '', '']]);
  assert.deepEqual(retries, []);
});
