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

test('refuses the username itself, and with digits added, when the username has digits of its own', () => {
  // Stripping digits from the password alone missed these: the name's own digits went too.
  for (const [password, username] of [
    ['20240917331', '20240917331'],
    ['Agent0071', 'agent007'],
    ['agent00712', 'agent007'],
    ['9agent007', 'agent007'],
    ['42zaphod42', '42zaphod'],
    ['r2d2r2d2r2', 'r2d2r2d2r2'],
  ] as const)
    assert.equal(check(password, username), 'username', `${password} for ${username}`);
  assert.equal(check('agent007x', 'agent007'), null, 'more than digits added');
  // A name with characters that mean something in a pattern is matched as text.
  assert.equal(check('a.b+c*d12', 'a.b+c*d'), 'username');
  assert.equal(check('axb+cccd12', 'a.b+c*d'), null);
});

test('each refusal says which rule was broken', () => {
  const message = (password: string) =>
    checkPasswordPolicy(password, { username: 'bob', minLength: 8 })?.message;
  assert.match(message('short') ?? '', /at least 8 characters/);
  assert.match(message('x'.repeat(80)) ?? '', /at most 72 bytes/);
  assert.match(message('password') ?? '', /commonly used/);
  assert.match(message('bob12345678') ?? '', /username/);
});
