/**
 * One token, one identity. A JWT's base64url segments have more than one spelling: the last
 * character of a segment carries bits the decoder ignores, so several strings decode to the same
 * signature. The verifier accepts all of them; revocation must therefore not tell them apart, or a
 * revoked token comes back under another spelling. Tokens with a `jti` are revoked by it; the
 * Python template's tokens (no `jti`) are the ones this attacks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { openSse } from '../support/sse.ts';
import { DENIED, GRANTED, nowSeconds, probeAccess, signHs256 } from './attack.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The other spellings of a base64url segment that decode to the same bytes: its last character
 * with the unused low bits set differently (2 bits when length % 4 == 3, 4 when == 2).
 */
function sameBytesSpellings(segment: string): string[] {
  const unusedBits = { 2: 4, 3: 2 }[segment.length % 4] ?? 0;
  const last = ALPHABET.indexOf(segment.at(-1) ?? '');
  const spellings: string[] = [];
  for (let low = 0; low < 2 ** unusedBits; low++) {
    const index = (last & ~(2 ** unusedBits - 1)) | low;
    if (index !== last) spellings.push(segment.slice(0, -1) + ALPHABET[index]);
  }
  return spellings;
}

/** A token like python-jose mints it: `sub` and `exp` only. */
function pythonToken(secret: string, lifetimeSeconds: number, sub = 'mark'): string {
  return signHs256(secret, { sub, exp: nowSeconds() + lifetimeSeconds });
}

const withSignature = (token: string, signature: string) =>
  `${token.slice(0, token.lastIndexOf('.'))}.${signature}`;
const signatureOf = (token: string) => token.slice(token.lastIndexOf('.') + 1);

async function apiLogout(base: string, token: string): Promise<number> {
  const response = await fetch(`${base}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  return response.status;
}

test('the signature has three other spellings that decode to the same bytes (premise)', () => {
  const token = pythonToken('premise-secret-0123456789abcdef0123', 600);
  const spellings = sameBytesSpellings(signatureOf(token));
  assert.equal(spellings.length, 3);
  for (const spelling of spellings)
    assert.deepEqual(Buffer.from(spelling, 'base64url'), Buffer.from(signatureOf(token), 'base64url'));
});

test('a revoked Python-template token stays revoked under every spelling of its signature', async (t) => {
  const { url, config, app } = await startApp(t);
  const token = pythonToken(config.secretKey, app.auth.tokenLifetimeSeconds);
  const variants = sameBytesSpellings(signatureOf(token)).map((s) => withSignature(token, s));
  // Each spelling is a working credential before the logout: the verifier accepts them all.
  for (const variant of variants) assert.deepEqual(await probeAccess(url, variant), GRANTED, variant);

  assert.equal(await apiLogout(url, token), 204);
  assert.deepEqual(await probeAccess(url, token), DENIED, 'the token that logged out');
  for (const variant of variants) assert.deepEqual(await probeAccess(url, variant), DENIED, variant);
});

test('logging out with one spelling revokes the others, and ends streams opened with any', async (t) => {
  const { url, config, app } = await startApp(t);
  const token = pythonToken(config.secretKey, app.auth.tokenLifetimeSeconds);
  const [variant = ''] = sameBytesSpellings(signatureOf(token)).map((s) => withSignature(token, s));
  const stream = await openSse(`${url}/protected/events/mark`, { authorization: `Bearer ${token}` });
  t.after(() => stream.close());

  assert.equal(await apiLogout(url, variant), 204);
  const event = await stream.next();
  assert.equal(event.event, 'auth', 'the stream opened with the canonical spelling hears of it');
  await stream.ended;
  assert.deepEqual(await probeAccess(url, token), DENIED);
  assert.deepEqual(await probeAccess(url, variant), DENIED);
});

test('other encodings of a token are refused outright: padding, base64 (not url) characters, whitespace', async (t) => {
  const { url, config, app } = await startApp(t);
  const token = pythonToken(config.secretKey, app.auth.tokenLifetimeSeconds);
  assert.deepEqual(await probeAccess(url, token), GRANTED, 'control');
  const [header = '', payload = '', signature = ''] = token.split('.');
  const standard = (s: string) => s.replaceAll('-', '+').replaceAll('_', '/');
  const forms: Record<string, string> = {
    'padded signature': `${header}.${payload}.${signature}=`,
    'padded payload': `${header}.${payload}${'='.repeat((4 - (payload.length % 4)) % 4 || 1)}.${signature}`,
    'standard base64 signature': `${header}.${payload}.${standard(signature)}`,
    'space inside the signature': `${header}.${payload}.${signature.slice(0, 10)} ${signature.slice(10)}`,
    'signature with an extra character': `${header}.${payload}.${signature}A`,
    'signature one character short': `${header}.${payload}.${signature.slice(0, -1)}`,
  };
  // Another spelling of the header or payload changes the signed text, so the signature no
  // longer matches it: those are forgeries, not variants.
  for (const spelling of sameBytesSpellings(payload))
    forms[`payload spelled ${spelling.slice(-2)}`] = `${header}.${spelling}.${signature}`;
  for (const spelling of sameBytesSpellings(header))
    forms[`header spelled ${spelling.slice(-2)}`] = `${spelling}.${payload}.${signature}`;
  for (const [name, form] of Object.entries(forms)) {
    if (form === token) continue;
    assert.deepEqual(await probeAccess(url, form), DENIED, name);
  }
});

test("tokens with a jti (this app's) are revoked by it: other spellings stay revoked too", async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const variants = sameBytesSpellings(signatureOf(token)).map((s) => withSignature(token, s));
  assert.equal(await apiLogout(url, token), 204);
  for (const variant of [token, ...variants])
    assert.deepEqual(await probeAccess(url, variant), DENIED, variant);
});

test('revocations recorded before this fix (hash of the exact token) still hold', async (t) => {
  const { url, config, app } = await startApp(t);
  const token = pythonToken(config.secretKey, app.auth.tokenLifetimeSeconds);
  // What the previous version stored for a logout of this token.
  const legacyId = `sha256:${createHash('sha256').update(token).digest('base64url')}`;
  await app.db
    .insertInto('revoked_tokens')
    .values({ token_id: legacyId, expires_at: nowSeconds() + 600 })
    .execute();
  assert.deepEqual(await probeAccess(url, token), DENIED);
  for (const spelling of sameBytesSpellings(signatureOf(token)))
    assert.deepEqual(await probeAccess(url, withSignature(token, spelling)), DENIED, spelling);
});
