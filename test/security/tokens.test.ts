/**
 * Forged and stale credentials, presented as the session cookie and as a bearer token, to the
 * page, the API and the stream. Each case is paired with a correctly signed control token so a
 * test cannot pass merely because the probe is broken.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { DENIED, forgeToken, GRANTED, nowSeconds, probeAccess, signHs256 } from './attack.ts';

test('a correctly signed token opens page, API and stream (control for the forgeries below)', async (t) => {
  const { url, config } = await startApp(t);
  const token = signHs256(config.secretKey, { sub: 'mark', iat: nowSeconds(), exp: nowSeconds() + 600 });
  assert.deepEqual(await probeAccess(url, token), GRANTED);
});

test('refuses forged, tampered and incomplete tokens everywhere', async (t) => {
  const { url, config } = await startApp(t);
  const secret = config.secretKey;
  const claims = { sub: 'mark', iat: nowSeconds(), exp: nowSeconds() + 600 };
  const real = await apiToken(url, 'mark', 'pass123');
  const [realHeader, , realSignature] = real.split('.');
  const hs256 = { alg: 'HS256', typ: 'JWT' };

  const forgeries: Record<string, string> = {
    'alg none': forgeToken({ alg: 'none', typ: 'JWT' }, claims, { none: true }),
    'alg None (case games)': forgeToken({ alg: 'None', typ: 'JWT' }, claims, { none: true }),
    'alg none with a copied signature': `${forgeToken({ alg: 'none' }, claims, { none: true })}${realSignature}`,
    'HS512 signed with the real secret': forgeToken({ alg: 'HS512', typ: 'JWT' }, claims, {
      hmac: 'sha512',
      key: secret,
    }),
    'RS256 header, HMAC signature (algorithm confusion)': forgeToken({ alg: 'RS256', typ: 'JWT' }, claims, {
      hmac: 'sha256',
      key: secret,
    }),
    'RS256 signed by an attacker key': forgeToken({ alg: 'RS256', typ: 'JWT' }, claims, { rsa: true }),
    'HS256 with the wrong key': forgeToken(hs256, claims, {
      hmac: 'sha256',
      key: 'not-the-secret-key-0123456789abcdef',
    }),
    'payload tampered to another user': `${realHeader}.${Buffer.from(
      JSON.stringify({ ...claims, sub: 'luke' }),
    ).toString('base64url')}.${realSignature}`,
    expired: signHs256(secret, { sub: 'mark', iat: nowSeconds() - 7200, exp: nowSeconds() - 10 }),
    'missing exp': signHs256(secret, { sub: 'mark', iat: nowSeconds() }),
    'non-integer exp': signHs256(secret, { sub: 'mark', exp: `${nowSeconds() + 600}` }),
    'missing sub': signHs256(secret, { iat: nowSeconds(), exp: nowSeconds() + 600 }),
    'empty sub': signHs256(secret, { sub: '', exp: nowSeconds() + 600 }),
    'non-string sub': signHs256(secret, { sub: { $ne: null }, exp: nowSeconds() + 600 }),
    'unknown user': signHs256(secret, { sub: 'nobody', exp: nowSeconds() + 600 }),
    'not a JWT': 'definitely.not.a-jwt',
    'two segments': `${realHeader}.${realSignature}`,
    'oversized token': `${real}${'A'.repeat(5000)}`,
  };
  for (const [name, token] of Object.entries(forgeries))
    assert.deepEqual(await probeAccess(url, token), DENIED, name);
  // The real token still works after all that (nothing above poisoned the verifier cache).
  assert.deepEqual(await probeAccess(url, real), GRANTED);
});

test("a deleted user's still-unexpired token stops working", async (t) => {
  const { url, app } = await startApp(t);
  await app.auth.users.create('temp', await app.auth.passwords.hash('temp-password'));
  const token = await apiToken(url, 'temp', 'temp-password');
  assert.deepEqual(await probeAccess(url, token, 'temp'), GRANTED);
  await app.auth.removeUser('temp');
  assert.deepEqual(await probeAccess(url, token, 'temp'), DENIED);
  // A new account that happens to reuse the name does not inherit the old account's sessions.
  await app.auth.users.create('temp', await app.auth.passwords.hash('another-password'), nowSeconds() + 1);
  assert.deepEqual(await probeAccess(url, token, 'temp'), DENIED);
});

test('tokens minted by the Python template (no iat, no jti, Bearer-prefixed cookie) are accepted', async (t) => {
  const { url, config, app } = await startApp(t);
  // python-jose writes only sub and exp = now + the (shared) lifetime.
  const token = signHs256(config.secretKey, {
    sub: 'mark',
    exp: nowSeconds() + app.auth.tokenLifetimeSeconds,
  });
  assert.deepEqual(await probeAccess(url, token), GRANTED);
  for (const cookie of [`access_token="Bearer ${token}"`, `access_token=Bearer ${token}`]) {
    const page = await fetch(`${url}/protected`, { headers: { cookie }, redirect: 'manual' });
    assert.equal(page.status, 200, cookie);
  }
});

test('streams: anonymous callers get 401, another user gets 403, never a stream', async (t) => {
  const { url } = await startApp(t);
  const mark = await apiToken(url, 'mark', 'pass123');
  const anonymous = await fetch(`${url}/protected/events/mark`, { headers: { accept: 'text/event-stream' } });
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await anonymous.json(), { error: 'Not authenticated' });
  const credentials: Record<string, string>[] = [
    { authorization: `Bearer ${mark}` },
    { cookie: `access_token=${mark}` },
  ];
  for (const headers of credentials) {
    const other = await fetch(`${url}/protected/events/luke`, {
      headers: { ...headers, accept: 'text/event-stream' },
    });
    assert.equal(other.status, 403);
    assert.deepEqual(await other.json(), { error: 'Forbidden' });
  }
  // Encoded or case-shifted names are different names, not a way around the check.
  for (const name of ['Mark', 'mark%20', '%6Cuke', 'luke%00', '..%2Fluke']) {
    const response = await fetch(`${url}/protected/events/${name}`, {
      headers: { authorization: `Bearer ${mark}` },
    });
    assert.ok([400, 403, 404].includes(response.status), `${name} → ${response.status}`);
    await response.body?.cancel();
  }
});
