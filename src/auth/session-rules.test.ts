import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSessionCurrent, mayAdopt, renewableAt, renewedExpiry } from './session-rules.ts';

const user = { id: 1, tokens_valid_after: 1000 };

test('a session stands while its user exists and owns it and it has not ended', () => {
  assert.equal(isSessionCurrent({ user, session: { user_id: 1, ended_at: null } }), true);
  assert.equal(isSessionCurrent({ user: null, session: { user_id: 1, ended_at: null } }), false, 'user gone');
  assert.equal(isSessionCurrent({ user, session: null }), false, 'no row');
  assert.equal(isSessionCurrent({ user, session: { user_id: 1, ended_at: 1500 } }), false, 'ended');
  assert.equal(isSessionCurrent({ user, session: { user_id: 2, ended_at: null } }), false, "another's");
});

test('a token without a row is adopted only if issued after tokens_valid_after and not revoked', () => {
  assert.equal(mayAdopt({ user, revoked: false, issuedAt: 1000 }), true, 'issued in that second');
  assert.equal(mayAdopt({ user, revoked: false, issuedAt: 999 }), false);
  assert.equal(mayAdopt({ user, revoked: true, issuedAt: 2000 }), false);
  assert.equal(mayAdopt({ user: null, revoked: false, issuedAt: 2000 }), false);
});

test('a token renews once half its lifetime is gone, by a full lifetime, never past the cap', () => {
  const lifetime = 3600;
  assert.equal(renewableAt(10_000, lifetime), 8200);
  const at = (now: number, absoluteExpiresAt = 1_000_000) =>
    renewedExpiry({ now, exp: 10_000, lifetime, absoluteExpiresAt });
  assert.equal(at(8199), null, 'more than half left');
  assert.equal(at(8200), 11_800);
  assert.equal(at(9999), 13_599);
  assert.equal(at(9000, 12_000), 12_000, 'capped');
  assert.equal(at(9000, 10_000), null, 'at the cap: nothing to gain');
  const asked = (now: number) =>
    renewedExpiry({ now, exp: 10_000, lifetime, absoluteExpiresAt: 1e6, asked: true });
  assert.equal(asked(7000), 10_600, 'asked for: due early');
  assert.equal(asked(6400), null, 'asked for, but nothing to gain');
});
