/**
 * Drop-in for users of the Python template: its database opens and logs people in without a
 * byte of their rows changing, and tokens cross between the two apps under one SECRET_KEY.
 * The Python side is the real thing (SQLAlchemy, passlib, python-jose), run by Debian's python3.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';
import { requireService } from '../support/services.ts';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./python_template.py', import.meta.url));
const SECRET_KEY = 'shared-between-python-and-node-0123456789';

async function python(...args: string[]): Promise<unknown> {
  const { stdout } = await run(PYTHON, [SCRIPT, ...args]);
  return JSON.parse(stdout);
}

async function pythonAvailable(t: TestContext): Promise<boolean> {
  const ok = await run(PYTHON, ['-c', 'import sqlalchemy, passlib, jose, bcrypt']).then(
    () => true,
    () => false,
  );
  return requireService(t, ok, 'Python template libraries (python3-sqlalchemy, -passlib, -jose, -bcrypt)');
}

/** A database made by the Python template's own code; returns its path and our URL for it. */
async function pythonDatabase(t: TestContext, ...users: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-python-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'app.db');
  // The SQLAlchemy absolute form: sqlite:/// followed by /abs/path — four slashes.
  const url = `sqlite:///${path}`;
  assert.match(url, /^sqlite:\/\/\/\//);
  assert.deepEqual(
    await python('create-db', url, ...users),
    users.map((u) => u.split(':')[0]),
  );
  return { path, url };
}

/** Every byte of every original column of every row, with SQLite's storage class. */
function snapshotUsers(path: string): unknown[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare(
        `select id, typeof(id) as id_type, hex(username) as username, typeof(username) as username_type,
                hex(hashed_password) as hash, typeof(hashed_password) as hash_type
           from users order by id`,
      )
      .all()
      .map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

test('a database the Python template created opens and logs its users in; their rows stay byte for byte', async (t) => {
  if (!(await pythonAvailable(t))) return;
  const { path, url } = await pythonDatabase(t, 'alice:wonderland', 'bob:builder');
  const before = snapshotUsers(path);
  assert.equal(before.length, 2);
  assert.match(Buffer.from(String((before[0] as { hash: string }).hash), 'hex').toString(), /^\$2b\$12\$/);

  // INITIAL_USERS naming an existing user with another password must not reset it.
  const { url: base, close } = await startApp(t, {
    DATABASE_URL: url,
    SECRET_KEY,
    INITIAL_USERS: 'alice:other',
  });
  await new Browser(base).login('alice', 'wonderland');
  await apiToken(base, 'bob', 'builder');
  await assert.rejects(apiToken(base, 'alice', 'other'), /401/);
  await assert.rejects(apiToken(base, 'bob', 'wrong'), /401/);
  await close();

  assert.deepEqual(snapshotUsers(path), before, 'no row was rewritten (no rehash, no re-encoding)');
  // …and the Python app still works on the migrated database.
  assert.equal(await python('check-login', url, 'alice', 'wonderland'), true);
  assert.equal(await python('check-login', url, 'alice', 'nope'), false);
});

test('a user created by our app logs in to the Python template (passlib reads our $2b$ hashes)', async (t) => {
  if (!(await pythonAvailable(t))) return;
  const { url } = await pythonDatabase(t, 'alice:wonderland');
  const { close } = await startApp(t, { DATABASE_URL: url, SECRET_KEY, INITIAL_USERS: 'carol:n0de-made' });
  await close();
  assert.equal(await python('check-login', url, 'carol', 'n0de-made'), true);
  assert.equal(await python('check-login', url, 'carol', 'n0de-mad'), false);
});

test('a token python-jose minted with the same SECRET_KEY opens /api/me, /protected and the stream', async (t) => {
  if (!(await pythonAvailable(t))) return;
  const { url } = await pythonDatabase(t, 'alice:wonderland');
  const { url: base } = await startApp(t, { DATABASE_URL: url, SECRET_KEY });
  const token = String(await python('mint', SECRET_KEY, 'alice', '600'));

  const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200);
  assert.equal(((await me.json()) as { username: string }).username, 'alice');
  const page = await fetch(`${base}/protected`, {
    headers: { cookie: `access_token=${token}` },
    redirect: 'manual',
  });
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Hello, <span id="username">alice<\/span>!/);
  const stream = await fetch(`${base}/protected/events/alice`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(stream.status, 200);
  await stream.body?.cancel();

  // Controls: another key, an expired token, and a user the database does not have.
  const forged = String(await python('mint', 'some-other-secret-0123456789abcdef', 'alice', '600'));
  const expired = String(await python('mint', SECRET_KEY, 'alice', '-60'));
  const stranger = String(await python('mint', SECRET_KEY, 'mallory', '600'));
  for (const bad of [forged, expired, stranger]) {
    const response = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${bad}` } });
    assert.equal(response.status, 401);
  }
});

test('a token we mint verifies in python-jose (HS256) and yields sub; another key refuses it', async (t) => {
  if (!(await pythonAvailable(t))) return;
  const { url } = await pythonDatabase(t, 'alice:wonderland');
  const { url: base } = await startApp(t, { DATABASE_URL: url, SECRET_KEY });
  const token = await apiToken(base, 'alice', 'wonderland');
  const claims = (await python('verify', SECRET_KEY, token)) as Record<string, unknown>;
  assert.equal(claims.sub, 'alice');
  assert.ok(Number.isInteger(claims.exp) && Number(claims.exp) > Date.now() / 1000);
  const refused = (await python('verify', 'not-the-key-0123456789abcdef', token)) as { error?: string };
  assert.match(refused.error ?? '', /signature/i);

  // The cookie our login form sets holds the same kind of token.
  const browser = await new Browser(base).login('alice', 'wonderland');
  const cookieClaims = (await python('verify', SECRET_KEY, browser.cookies.get('access_token') ?? '')) as {
    sub?: string;
  };
  assert.equal(cookieClaims.sub, 'alice');
});
