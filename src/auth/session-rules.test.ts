import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSessionCurrent } from './session-rules.ts';

const user = { id: 1, username: 'mark', tokens_valid_after: 1000 };

test('a session stands while its user exists, it is not revoked and it is not older than tokens_valid_after', () => {
  assert.equal(isSessionCurrent({ user, revoked: false, issuedAt: 1000 }), true, 'issued in that second');
  assert.equal(isSessionCurrent({ user, revoked: false, issuedAt: 2000 }), true);
});

test('a session ends when its user is gone, its token is revoked, or it predates tokens_valid_after', () => {
  assert.equal(isSessionCurrent({ user: null, revoked: false, issuedAt: 2000 }), false);
  assert.equal(isSessionCurrent({ user, revoked: true, issuedAt: 2000 }), false);
  assert.equal(isSessionCurrent({ user, revoked: false, issuedAt: 999 }), false);
});
