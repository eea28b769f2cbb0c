import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBusMessage, encodeBusMessage } from './bus-codec.ts';
import type { BusMessage } from './types.ts';

test('bus messages survive a round trip, including data with line breaks', () => {
  const messages: BusMessage[] = [
    {
      kind: 'event',
      event: { id: 123456789012, recipient: 'mark', data: '{"a":"x\\ny"}\n\nraw', createdAt: 1700000000000 },
    },
    { kind: 'event', event: { id: 1, recipient: '*', data: '', createdAt: 0 } },
    { kind: 'session-ended', username: 'mark', tokenId: 'abc', reason: 'logout' },
    { kind: 'session-ended', username: 'luke', reason: 'logout-all' },
    { kind: 'session-ended', username: 'luke', except: 'keep', reason: 'password-changed' },
    { kind: 'session-renewed', username: 'mark', tokenId: 'abc', expiresAt: 1700003600 },
    { kind: 'user-changed', username: 'mark' },
  ];
  for (const message of messages) assert.deepEqual(decodeBusMessage(encodeBusMessage(message)), message);
});

test('the append script’s event format decodes (e\\nid\\ncreatedAt\\nrecipient\\ndata)', () => {
  assert.deepEqual(decodeBusMessage('e\n7\n1700000000000\nmark\n{"js":{"n":1}}'), {
    kind: 'event',
    event: { id: 7, createdAt: 1700000000000, recipient: 'mark', data: '{"js":{"n":1}}' },
  });
});

test('malformed payloads decode to null', () => {
  for (const payload of [
    '',
    'x',
    'e\n1\n2',
    'e\nabc\n1\nmark\n{}',
    'e\n0\n1\nmark\n{}',
    'e\n1\n1\n\n{}',
    'j\n{',
    'j\n{"kind":"event"}',
    'j\n{"kind":"reset"}',
    'j\n{"kind":"user-changed"}',
    'j\n{"kind":"session-renewed","username":"mark","tokenId":"a","expiresAt":"soon"}',
    'j\n{"kind":"frob","username":"mark"}',
  ])
    assert.equal(decodeBusMessage(payload), null, JSON.stringify(payload));
});
