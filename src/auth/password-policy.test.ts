import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPasswordPolicy } from './password-policy.ts';

const check = (password: string, username = 'alice', minLength = 8) =>
  checkPasswordPolicy(password, { username, minLength })?.rule ?? null;

test('accepts long, uncommon passwords with no composition rules', () => {
  assert.equal(check('correct horse battery'), null);
  assert.equal(check('alllowercaseletters'), null);
  assert.equal(check('ünïcödé pässwörd'), null);
});

test('refuses passwords shorter than the minimum, counting characters, not bytes', () => {
  assert.equal(check('Xy7#kq2'), 'too-short');
  assert.equal(check('Xy7#kq2z'), null);
  assert.equal(check('Xy7#kq2zab', 'alice', 12), 'too-short');
  // Eight characters, sixteen bytes: long enough.
  assert.equal(check('éééééééé'), null);
  assert.equal(check('😀😀😀😀😀😀😀'), 'too-short');
});

test('refuses passwords over bcrypt’s 72 bytes instead of truncating them', () => {
  assert.equal(check(`${'a'.repeat(72)}Q`), 'too-long');
  assert.equal(check('é'.repeat(37)), 'too-long');
  assert.equal(check(`${'q'.repeat(71)}z`), null);
});

test('refuses common and breached passwords whatever their case', () => {
  for (const common of ['password', 'Password1', '12345678', 'QWERTYUIOP', 'iloveyou', 'trustno1'])
    assert.equal(check(common), 'common', common);
});

test('refuses the username, and the username with digits before or after it', () => {
  for (const password of ['bartholomew', 'Bartholomew', 'bartholomew2024', '123bartholomew'])
    assert.equal(check(password, 'bartholomew'), 'username', password);
  assert.equal(check('bartholomew-the-great', 'bartholomew'), null);
});

test('each refusal says which rule was broken', () => {
  const message = (password: string) =>
    checkPasswordPolicy(password, { username: 'bob', minLength: 8 })?.message;
  assert.match(message('short') ?? '', /at least 8 characters/);
  assert.match(message('x'.repeat(80)) ?? '', /at most 72 bytes/);
  assert.match(message('password') ?? '', /commonly used/);
  assert.match(message('bob12345678') ?? '', /username/);
});
