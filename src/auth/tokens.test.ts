import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { createTokenService, issuedAt, tokenId } from './tokens.ts';

const SECRET = 'unit-test-secret-0123456789abcdef';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT signed by hand, so tests control every byte of header and payload. */
function handMade(header: object, payload: object, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);

test('sign → verify round trip: sub, integer exp = iat + lifetime, iat and a jti', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const { token, claims } = tokens.sign('mark');
  assert.equal(tokens.lifetimeSeconds, 3600);
  assert.equal(claims.sub, 'mark');
  assert.ok(Number.isInteger(claims.exp));
  assert.equal(claims.exp, claims.iat + 3600);
  assert.match(claims.jti, /^[0-9a-f-]{36}$/);
  assert.deepEqual(tokens.verify(token), claims);
  const [header] = token.split('.');
  assert.deepEqual(JSON.parse(Buffer.from(header ?? '', 'base64url').toString()), {
    alg: 'HS256',
    typ: 'JWT',
  });
});

test('a decimal lifetime still gives an integer exp (0.5 h = 1800 s)', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 0.5 });
  const { claims } = tokens.sign('mark', 1_000_000);
  assert.equal(tokens.lifetimeSeconds, 1800);
  assert.equal(claims.exp, 1_001_800);
  const odd = createTokenService({ secret: SECRET, lifetimeHours: 0.0001234 });
  assert.ok(Number.isInteger(odd.sign('mark').claims.exp));
  assert.equal(odd.lifetimeSeconds, 1, 'never below one second');
});

test('accepts a hand-made HS256 token with only sub and exp (the Python template shape)', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const exp = now() + 60;
  assert.deepEqual(tokens.verify(handMade({ alg: 'HS256', typ: 'JWT' }, { sub: 'luke', exp })), {
    sub: 'luke',
    exp,
  });
});

test('rejects an expired token', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  assert.equal(tokens.verify(tokens.sign('mark', now() - 7200).token), null);
  assert.equal(tokens.verify(handMade({ alg: 'HS256' }, { sub: 'mark', exp: now() - 5 })), null);
});

test('rejects a tampered payload, a tampered signature and another key', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const { token } = tokens.sign('mark');
  const [header, , signature] = token.split('.');
  assert.equal(tokens.verify(`${header}.${b64({ sub: 'luke', exp: now() + 60 })}.${signature}`), null);
  const flipped = `${signature?.slice(0, -2)}${signature?.endsWith('AA') ? 'BB' : 'AA'}`;
  assert.equal(tokens.verify(`${token.split('.').slice(0, 2).join('.')}.${flipped}`), null);
  const other = createTokenService({ secret: 'another-secret-0123456789abcdef', lifetimeHours: 1 });
  assert.equal(tokens.verify(other.sign('mark').token), null);
});

test('rejects alg none and every algorithm but HS256, whatever the header says', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const payload = { sub: 'mark', exp: now() + 60 };
  assert.equal(tokens.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`), null);
  assert.equal(tokens.verify(`${b64({ alg: 'none' })}.${b64(payload)}`), null);
  for (const alg of ['HS384', 'HS512', 'RS256', 'ES256']) {
    assert.equal(tokens.verify(handMade({ alg, typ: 'JWT' }, payload)), null, alg);
  }
  const hs512 = `${b64({ alg: 'HS512' })}.${b64(payload)}`;
  const sig512 = createHmac('sha512', SECRET).update(hs512).digest('base64url');
  assert.equal(tokens.verify(`${hs512}.${sig512}`), null, 'a correct HS512 signature is still refused');
});

test('rejects missing or mistyped claims and garbage', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const header = { alg: 'HS256', typ: 'JWT' };
  const exp = now() + 60;
  const payloads = [
    { exp },
    { sub: 'mark' },
    { sub: '', exp },
    { sub: 42, exp },
    { sub: 'mark', exp: exp + 0.5 },
    { sub: 'mark', exp: String(exp) },
    { sub: 'mark', exp, jti: 7 },
  ];
  for (const payload of payloads)
    assert.equal(tokens.verify(handMade(header, payload)), null, JSON.stringify(payload));
  for (const garbage of ['', 'a.b.c', 'not a token', `${'a'.repeat(5000)}.b.c`])
    assert.equal(tokens.verify(garbage), null);
});

test('tokenId is the jti, or a hash of the canonical token for tokens without one', () => {
  assert.equal(tokenId('x.y.z', { sub: 'a', exp: 1, jti: 'id-1' }), 'id-1');
  const claims = { sub: 'a', exp: now() + 60 };
  const token = handMade({ alg: 'HS256', typ: 'JWT' }, claims);
  const hashed = tokenId(token, claims);
  assert.match(hashed, /^sha256:[\w-]{43}$/);
  assert.equal(tokenId(token, claims), hashed);
  // The same id as the previous version's hash of the exact string, for a canonical token.
  assert.equal(hashed, `sha256:${createHash('sha256').update(token).digest('base64url')}`);
  // The signature's last character carries 2 unused bits: its other spellings are the same token.
  const last = token.at(-1) ?? '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const base = alphabet.indexOf(last) & ~3;
  for (let low = 0; low < 4; low++)
    assert.equal(tokenId(token.slice(0, -1) + alphabet[base + low], claims), hashed, `low bits ${low}`);
  // A different signature is a different token.
  const other = handMade({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: claims.exp + 1 });
  assert.notEqual(tokenId(other, claims), hashed);
});

test('a token verified once still stops at its exp, and waits for its nbf', (t) => {
  const start = Date.now();
  t.mock.timers.enable({ apis: ['Date'], now: start });
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const exp = Math.floor(start / 1000) + 10;
  const token = handMade({ alg: 'HS256', typ: 'JWT' }, { sub: 'mark', exp });
  assert.deepEqual(tokens.verifyWithId(token)?.claims, { sub: 'mark', exp });
  assert.equal(tokens.verifyWithId(token)?.id, tokenId(token, { sub: 'mark', exp }));
  t.mock.timers.setTime(exp * 1000);
  assert.ok(tokens.verify(token), 'valid up to and including its exp second, as fast-jwt');
  t.mock.timers.setTime(exp * 1000 + 1);
  assert.equal(tokens.verify(token), null, 'remembered or not, an expired token is refused');
  assert.equal(tokens.verify(token), null);

  t.mock.timers.setTime(start);
  const nbf = Math.floor(start / 1000) + 5;
  const early = handMade({ alg: 'HS256', typ: 'JWT' }, { sub: 'mark', exp, nbf });
  assert.equal(tokens.verify(early), null, 'not before its nbf');
  t.mock.timers.setTime(nbf * 1000);
  assert.equal(tokens.verify(early)?.sub, 'mark');
  t.mock.timers.setTime(nbf * 1000 - 1);
  assert.equal(tokens.verify(early), null, 'a remembered token is checked against nbf too');
});

test('each spelling of a token is verified on its own: a forged one is never served from memory', () => {
  const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
  const { token } = tokens.sign('mark');
  assert.ok(tokens.verify(token));
  const [header, payload, signature = ''] = token.split('.');
  const forged = `${header}.${b64({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: 'luke' })}.${signature}`;
  assert.equal(tokens.verify(forged), null);
  assert.equal(tokens.verify(token)?.sub, 'mark');
});

test('issuedAt is iat, or exp minus the lifetime for Python-template tokens', () => {
  assert.equal(issuedAt({ sub: 'a', exp: 5000, iat: 1000 }, 3600), 1000);
  assert.equal(issuedAt({ sub: 'a', exp: 5000 }, 3600), 1400);
});
