import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from './stream.ts';

test('backoff doubles from the server retry value, with full jitter', () => {
  assert.equal(backoffDelay(0, 1000, 1), 1000);
  assert.equal(backoffDelay(3, 1000, 1), 8000);
  assert.equal(backoffDelay(3, 1000, 0.5), 4000);
  assert.equal(backoffDelay(3, 1000, 0), 0);
});

test('backoff is capped at 30 s, or at the retry value when the server asks for more', () => {
  assert.equal(backoffDelay(10, 1000, 1), 30_000);
  assert.equal(backoffDelay(1000, 1000, 1), 30_000);
  assert.equal(backoffDelay(2, 60_000, 1), 60_000);
});
