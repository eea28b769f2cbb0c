/**
 * Email verification and password reset end to end: the app sends through SMTP_URL to a real SMTP
 * server in this process; links are taken from the received mails and followed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeAll, openStream } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';
import { linkIn, startMailServer } from '../support/mail.ts';
import { navigatePost } from './helpers.ts';

const STRONG = 'correct horse battery';
const NEW = 'a much longer passphrase';
const json = (token?: string) => ({
  'content-type': 'application/json',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
});
const me = async (url: string, token: string) =>
  (await (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
    email: string | null;
    email_verified: boolean;
  };
const tokenOf = (link: string) => new URL(link).searchParams.get('token') ?? '';

/** An app sending mail to a fresh SMTP server, with links under its own URL. */
async function appWithMail(t: Parameters<typeof startApp>[0], env: Record<string, string> = {}) {
  const mail = await startMailServer(t);
  const app = await startApp(t, { SMTP_URL: mail.url, MAIL_FROM: 'Accounts <accounts@example.com>', ...env });
  return { ...app, mail };
}

/** Registers `username` with a verified address, through the real link. */
async function verifiedUser(
  url: string,
  mail: Awaited<ReturnType<typeof startMailServer>>,
  username: string,
  email: string,
) {
  const response = await fetch(`${url}/api/register`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ username, password: STRONG, email }),
  });
  assert.equal(response.status, 201);
  const { access_token } = (await response.json()) as { access_token: string };
  const link = linkIn(await mail.next(email), 'http');
  const verified = await fetch(`${url}/api/account/email/verify`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ token: tokenOf(link) }),
  });
  assert.equal(verified.status, 204);
  return access_token;
}

test('an address given at sign-up gets a link; opening it changes nothing until "Confirm" is pressed; then it is verified, once', async (t) => {
  const { url, mail } = await appWithMail(t, { PUBLIC_URL: 'http://app.example' });
  const browser = new Browser(url);
  const signup = await browser.submit(
    '/register',
    { username: 'alice', password: STRONG, password_confirm: STRONG, email: 'Alice@Example.com' },
    '/register',
  );
  assert.equal(signup.status, 303);
  const received = await mail.next('alice@example.com');
  assert.equal(received.subject, 'Confirm your email address');
  const link = linkIn(received, 'http://app.example/verify-email?token=');
  const path = link.replace('http://app.example', '');
  const token = await apiToken(url, 'alice', STRONG);
  assert.deepEqual(await me(url, token), {
    ...(await me(url, token)),
    email: 'alice@example.com',
    email_verified: false,
  });

  // A mail scanner follows the link (twice, even): a page with a button, and nothing else.
  for (let i = 0; i < 2; i++) {
    const page = await browser.fetch(path);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-store');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.match(await page.text(), /<form [^>]*method="post" action="\/verify-email"/);
  }
  assert.equal((await me(url, token)).email_verified, false);

  const confirmed = await navigatePost(browser, '/verify-email', { token: tokenOf(link) }, path);
  assert.equal(confirmed.status, 200);
  assert.match(confirmed.body, /Your email address is verified/);
  assert.equal((await me(url, token)).email_verified, true, 'at once, for the cached session too');
  const again = await navigatePost(browser, '/verify-email', { token: tokenOf(link) }, path);
  assert.equal(again.status, 400, 'single use');
  assert.match(again.body, /invalid, used or expired/);
  const activity = (await (
    await fetch(`${url}/api/account/activity`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { kind: string }[];
  assert.equal(activity[0]?.kind, 'email-verified');
});

test('setting an address on the account sends a link; an expired or replaced link is refused', async (t) => {
  const { url, app, mail } = await appWithMail(t, { PORT: '3000' });
  const token = await apiToken(url);
  const set = (email: string) =>
    fetch(`${url}/api/account/email`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ email }),
    });
  const verify = (link: string) =>
    fetch(`${url}/api/account/email/verify`, {
      method: 'POST',
      headers: json(),
      body: JSON.stringify({ token: tokenOf(link) }),
    });
  const first = await set('mark@example.com');
  assert.equal(first.status, 202);
  assert.deepEqual(await first.json(), { email: 'mark@example.com', email_verified: false });
  const firstLink = linkIn(await mail.next('mark@example.com'), 'http');
  assert.ok(firstLink.startsWith('http://localhost:3000/verify-email?token='), 'PUBLIC_URL follows PORT');
  // A new address replaces the old one: the old link no longer verifies anything.
  await set('mark@example.org');
  const secondLink = linkIn(await mail.next('mark@example.org'), 'http');
  assert.equal((await verify(firstLink)).status, 400);
  // Expired links are refused (moved into the past in the database, as time would).
  await app.db.updateTable('account_tokens').set({ expires_at: 1 }).execute();
  assert.equal((await verify(secondLink)).status, 400);
  assert.equal((await me(url, token)).email_verified, false);
  assert.equal((await set('not an address')).status, 400);
  // The stored hash is not the token: a database leak yields no working link.
  await set('mark@example.net');
  const link = linkIn(await mail.next('mark@example.net'), 'http');
  const stored = await app.db.selectFrom('account_tokens').select('token_hash').execute();
  assert.equal(stored.length, 1);
  assert.notEqual(stored[0]?.token_hash, tokenOf(link));
  assert.equal((await verify(link)).status, 204);
});

test('verification mails are limited per account: past MAIL_MAX_PER_ACCOUNT, 429 with Retry-After and no mail', async (t) => {
  const { url, mail } = await appWithMail(t, { MAIL_MAX_PER_ACCOUNT: '2' });
  const token = await apiToken(url);
  const set = (email: string) =>
    fetch(`${url}/api/account/email`, {
      method: 'POST',
      headers: json(token),
      body: JSON.stringify({ email }),
    });
  for (const email of ['one@example.com', 'two@example.com']) {
    assert.equal((await set(email)).status, 202);
    await mail.next(email);
  }
  const refused = await set('three@example.com');
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.match(((await refused.json()) as { error: string }).error, /Too many attempts/);
  assert.equal((await me(url, token)).email, 'two@example.com', 'a refused change changes nothing');
  // Another account has its own allowance.
  const luke = await apiToken(url, 'luke', 'pass456');
  const lukes = await fetch(`${url}/api/account/email`, {
    method: 'POST',
    headers: json(luke),
    body: JSON.stringify({ email: 'luke@example.com' }),
  });
  assert.equal(lukes.status, 202);
  await mail.next('luke@example.com');
  assert.equal(mail.received.filter((m) => m.to === 'three@example.com').length, 0);
});

test('the address already verified, submitted again, sends nothing and says so (API and form)', async (t) => {
  const { url, app, mail } = await appWithMail(t);
  const token = await verifiedUser(url, mail, 'alice', 'alice@example.com');
  const links = () =>
    app.db.selectFrom('account_tokens').select('token_hash').where('purpose', '=', 'verify-email').execute();
  assert.equal((await links()).length, 0, 'the used link is gone');

  const api = await fetch(`${url}/api/account/email`, {
    method: 'POST',
    headers: json(token),
    body: JSON.stringify({ email: 'Alice@Example.com' }),
  });
  assert.equal(api.status, 200, 'not 202: nothing is on its way');
  assert.deepEqual(await api.json(), { email: 'alice@example.com', email_verified: true });

  const browser = await new Browser(url).login('alice', STRONG);
  const form = await navigatePost(browser, '/account/email', { email: 'alice@example.com' }, '/account');
  assert.equal(form.status, 303);
  const page = await (await browser.fetch(form.location ?? '')).text();
  assert.match(page, /This address is already verified on your account\. Nothing was sent\./);
  assert.doesNotMatch(page, /We sent a confirmation link/);

  assert.equal((await links()).length, 0, 'no link was issued');
  assert.equal((await me(url, token)).email_verified, true, 'the address stays verified');
  // The next mail to the address is the one asked for next, not a confirmation sent meanwhile.
  await fetch(`${url}/api/password-reset`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ email: 'alice@example.com' }),
  });
  assert.equal((await mail.next('alice@example.com')).subject, 'Reset your password');
  assert.deepEqual(
    mail.received.filter((m) => m.subject === 'Confirm your email address').length,
    1,
    'only the sign-up link',
  );
});

test('an address verified on one account cannot be verified on another (409); resets go to the first', async (t) => {
  const { url, mail } = await appWithMail(t);
  const alice = await verifiedUser(url, mail, 'alice', 'shared@example.com');
  const bob = await apiToken(url);
  // Anyone may type any address; the link it gets cannot take the address over.
  const set = await fetch(`${url}/api/account/email`, {
    method: 'POST',
    headers: json(bob),
    body: JSON.stringify({ email: 'Shared@Example.com' }),
  });
  assert.equal(set.status, 202);
  const link = linkIn(await mail.next('shared@example.com'), 'http');
  const api = await fetch(`${url}/api/account/email/verify`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ token: tokenOf(link) }),
  });
  assert.equal(api.status, 409);
  assert.match(((await api.json()) as { error: string }).error, /already verified on another account/);
  assert.deepEqual(
    [await me(url, alice), await me(url, bob)].map((m) => [m.email, m.email_verified]),
    [
      ['shared@example.com', true],
      ['shared@example.com', false],
    ],
  );
  // The page says so too (the link was used up by the first try: a fresh one).
  await fetch(`${url}/api/account/email`, {
    method: 'POST',
    headers: json(bob),
    body: JSON.stringify({ email: 'shared@example.com' }),
  });
  const again = linkIn(await mail.next('shared@example.com'), 'http');
  const browser = new Browser(url);
  const path = again.slice(again.indexOf('/verify-email'));
  const page = await navigatePost(browser, '/verify-email', { token: tokenOf(again) }, path);
  assert.equal(page.status, 409);
  assert.match(page.body, /already verified on another account/);
  await fetch(`${url}/api/password-reset`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ email: 'shared@example.com' }),
  });
  assert.match((await mail.next('shared@example.com')).text, /Hello alice,/);
});

test('a reset request gets the same answer, byte for byte, whether or not the address belongs to an account', async (t) => {
  const { url, mail } = await appWithMail(t);
  await verifiedUser(url, mail, 'alice', 'alice@example.com');
  // Unverified addresses do not count either.
  const bob = await apiToken(url);
  await fetch(`${url}/api/account/email`, {
    method: 'POST',
    headers: json(bob),
    body: JSON.stringify({ email: 'mark@example.com' }),
  });
  await mail.next('mark@example.com');
  const ask = (email: string) =>
    fetch(`${url}/api/password-reset`, { method: 'POST', headers: json(), body: JSON.stringify({ email }) });
  const answers = [];
  for (const email of ['alice@example.com', 'nobody@example.com', 'mark@example.com']) {
    const response = await ask(email);
    // Everything but the date, the request id and the CSP's per-response nonces.
    const headers = Object.fromEntries(
      [...response.headers]
        .filter(([name]) => name !== 'date' && name !== 'x-request-id')
        .map(([name, value]) => [name, value.replace(/'nonce-[^']+'/g, "'nonce'")]),
    );
    answers.push({ status: response.status, headers, body: await response.text() });
  }
  assert.equal(answers[0]?.status, 202);
  assert.deepEqual(answers[1], answers[0]);
  assert.deepEqual(answers[2], answers[0]);
  const reset = await mail.next('alice@example.com');
  assert.equal(reset.subject, 'Reset your password');
  // The forms answer the same way.
  const browser = new Browser(url);
  const pages = [];
  for (const email of ['alice@example.com', 'nobody@example.com']) {
    const page = await navigatePost(browser, '/forgot-password', { email }, '/forgot-password');
    pages.push({ status: page.status, text: page.body.replace(/(value|content|nonce)="[^"]+"/g, '') });
  }
  assert.deepEqual(pages[1], pages[0]);
  await mail.next('alice@example.com');
  assert.equal(
    mail.received.filter((m) => m.to === 'nobody@example.com').length,
    0,
    'no mail for no account',
  );
  assert.equal(
    mail.received.filter((m) => m.subject === 'Reset your password' && m.to === 'mark@example.com').length,
    0,
  );
});

test('a reset link sets a new password, ends every session, and works once; a weak password leaves it usable', async (t) => {
  const { url, mail } = await appWithMail(t);
  const session = await verifiedUser(url, mail, 'alice', 'alice@example.com');
  const stream = await openStream(url, session, 'alice');
  t.after(closeAll([stream]));
  await fetch(`${url}/api/password-reset`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ email: 'ALICE@Example.com' }),
  });
  const link = linkIn(await mail.next('alice@example.com'), 'http');
  const path = link.slice(link.indexOf('/reset-password'));
  const browser = new Browser(url);
  const page = await browser.fetch(path);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /name="new_password"/);

  const weak = await navigatePost(
    browser,
    '/reset-password',
    { token: tokenOf(link), new_password: 'password1', new_password_confirm: 'password1' },
    path,
  );
  assert.equal(weak.status, 400);
  assert.match(weak.body, /commonly used/);
  const done = await navigatePost(
    browser,
    '/reset-password',
    { token: tokenOf(link), new_password: NEW, new_password_confirm: NEW },
    path,
  );
  assert.equal(done.status, 303);
  assert.equal(done.location, '/login?reset=1');
  assert.match(await (await browser.fetch('/login?reset=1')).text(), /Your password was changed/);

  assert.equal(
    (await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${session}` } })).status,
    401,
  );
  assert.equal((await stream.next()).event, 'auth');
  await apiToken(url, 'alice', NEW);
  const reused = await fetch(`${url}/api/password-reset/confirm`, {
    method: 'POST',
    headers: json(),
    body: JSON.stringify({ token: tokenOf(link), new_password: 'yet another passphrase' }),
  });
  assert.equal(reused.status, 400, 'single use');
  assert.equal((await browser.fetch(path)).status, 400, 'the page says so too');
});

test('POST /api/password-reset/confirm: expired and made-up tokens are 400; reset requests are throttled per address', async (t) => {
  const { url, app, mail } = await appWithMail(t, { MAIL_MAX_PER_ACCOUNT: '2' });
  await verifiedUser(url, mail, 'alice', 'alice@example.com');
  const ask = (email: string) =>
    fetch(`${url}/api/password-reset`, { method: 'POST', headers: json(), body: JSON.stringify({ email }) });
  assert.equal((await ask('alice@example.com')).status, 202);
  const link = linkIn(await mail.next('alice@example.com'), 'http');
  const confirm = (token: string) =>
    fetch(`${url}/api/password-reset/confirm`, {
      method: 'POST',
      headers: json(),
      body: JSON.stringify({ token, new_password: NEW }),
    });
  assert.equal((await confirm('made-up-token')).status, 400);
  await app.db
    .updateTable('account_tokens')
    .set({ expires_at: 1 })
    .where('purpose', '=', 'reset-password')
    .execute();
  assert.equal((await confirm(tokenOf(link))).status, 400, 'expired');
  await apiToken(url, 'alice', STRONG);
  // Per typed address (so per account), the same for an address no account has.
  assert.equal((await ask('alice@example.com')).status, 202);
  for (const email of ['alice@example.com', 'nobody@example.com']) {
    if (email === 'nobody@example.com') {
      assert.equal((await ask(email)).status, 202);
      assert.equal((await ask(email)).status, 202);
    }
    const refused = await ask(email);
    assert.equal(refused.status, 429, email);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
  }
});

test('a change of password is told by mail to the verified address', async (t) => {
  const { url, mail } = await appWithMail(t);
  const token = await verifiedUser(url, mail, 'alice', 'alice@example.com');
  const changed = await fetch(`${url}/api/account/password`, {
    method: 'POST',
    headers: json(token),
    body: JSON.stringify({ current_password: STRONG, new_password: NEW }),
  });
  assert.equal(changed.status, 204);
  assert.equal((await mail.next('alice@example.com')).subject, 'Your password was changed');
});
