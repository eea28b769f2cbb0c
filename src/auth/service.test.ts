/**
 * AuthService against real databases (SQLite, and PostgreSQL when available): sessions checked
 * from the cache without queries, adoption of tokens minted elsewhere, renewal, and
 * findEndedSessions reaching the same verdicts as `authenticate` in a bounded number of queries.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { createSigner } from 'fast-jwt';
import type { Kysely, KyselyPlugin } from 'kysely';
import { tempSqliteUrl } from '../../test/support/app.ts';
import { freshPostgresDatabase, requireService } from '../../test/support/services.ts';
import { loadConfig } from '../config.ts';
import { connectDatabase, type Dialect } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrations/index.ts';
import type { Database } from '../db/schema.ts';
import { type AuthService, createAuthService, type SessionRef } from './service.ts';
import { createTokenService, tokenId } from './tokens.ts';

const SECRET = 'test-secret-key-that-is-long-enough-0123456789';
const client = { ip: '127.0.0.1', userAgent: 'test' };

interface Deps {
  auth: AuthService;
  db: Kysely<Database>;
  queries: () => number;
}

/**
 * Runs `body` with an AuthService over a fresh database of `dialect` and the number of queries it
 * has sent so far; skips when PostgreSQL is unavailable. The database is closed here, not in
 * t.after: PostgreSQL's is dropped by an earlier-registered hook.
 */
async function withAuth(
  t: TestContext,
  dialect: Dialect,
  body: (deps: Deps) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const url = dialect === 'sqlite' ? tempSqliteUrl(t) : await freshPostgresDatabase(t);
  if (!requireService(t, url !== null, 'PostgreSQL') || url === null) return;
  const { db } = connectDatabase(url);
  try {
    await migrateToLatest(db as Kysely<unknown>, dialect);
    let count = 0;
    const counter: KyselyPlugin = {
      transformQuery: ({ node }) => {
        count++;
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const config = loadConfig({ SECRET_KEY: SECRET, BCRYPT_ROUNDS: '4', INITIAL_USERS: '', ...env });
    await body({ auth: createAuthService(db.withPlugin(counter), config), db, queries: () => count });
  } finally {
    await db.destroy();
  }
}

/** A token as the Python template mints it: `sub` and `exp` only. */
function pythonToken(username: string, exp = Math.floor(Date.now() / 1000) + 3600): string {
  return createSigner({ key: SECRET, algorithm: 'HS256', noTimestamp: true })({ sub: username, exp });
}

async function signIn(auth: AuthService, username: string) {
  const user = await auth.users.findByUsername(username);
  assert.ok(user);
  return (await auth.startSession(user, client, false)).token;
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`a cached session costs no query; ending it is effective at once (${dialect})`, async (t) => {
    await withAuth(t, dialect, async ({ auth, queries }) => {
      assert.ok(await auth.users.create('ann', await auth.passwords.hash('pw'), 1000));
      const token = await signIn(auth, 'ann');
      const first = await auth.authenticate(token, client);
      assert.ok(first);
      const before = queries();
      for (let i = 0; i < 100; i++) assert.ok(await auth.authenticate(token, client));
      assert.equal(queries() - before, 0, 'steady state: no database round trip');
      await auth.logout(first);
      assert.equal(await auth.authenticate(token, client), null);
    });
  });

  test(`findEndedSessions ends exactly the sessions authenticate would refuse (${dialect})`, async (t) => {
    await withAuth(t, dialect, async ({ auth, db }) => {
      const hash = await auth.passwords.hash('pw');
      for (const name of ['ann', 'bob', 'cid', 'dan']) assert.ok(await auth.users.create(name, hash, 1000));
      const tokens = {
        current: await signIn(auth, 'ann'),
        loggedOut: await signIn(auth, 'ann'),
        everywhere: await signIn(auth, 'bob'),
        gone: await signIn(auth, 'cid'),
        python: pythonToken('dan'),
        outOfBand: await signIn(auth, 'dan'),
      };
      const sessions = new Map<string, SessionRef>();
      for (const [name, token] of Object.entries(tokens)) {
        const user = await auth.authenticate(token, client);
        assert.ok(user, `${name} starts valid`);
        sessions.set(name, user);
      }
      const loggedOut = await auth.authenticate(tokens.loggedOut);
      assert.ok(loggedOut);
      await auth.logout(loggedOut);
      await auth.logoutEverywhere('bob');
      await auth.removeUser('cid');
      // Another process ends a session: nothing tells this instance, its cache still says yes.
      const outOfBand = sessions.get('outOfBand')?.tokenId ?? '';
      await db.updateTable('sessions').set({ ended_at: 1 }).where('id', '=', outOfBand).execute();
      assert.ok(await auth.authenticate(tokens.outOfBand), 'cached until checked');

      const ended = await auth.findEndedSessions([...sessions.values()]);
      for (const [name, token] of Object.entries(tokens)) {
        const refused = (await auth.authenticate(token)) === null;
        assert.equal(ended.has(sessions.get(name)?.tokenId ?? ''), refused, name);
      }
      assert.deepEqual(
        [...ended].sort(),
        ['loggedOut', 'everywhere', 'gone', 'outOfBand'].map((name) => sessions.get(name)?.tokenId).sort(),
      );
    });
  });

  test(`findEndedSessions checks thousands of sessions in a bounded number of queries (${dialect})`, async (t) => {
    await withAuth(t, dialect, async ({ auth, db, queries }) => {
      const hash = await auth.passwords.hash('pw');
      const refs: SessionRef[] = [];
      const rows = [];
      for (let i = 0; i < 1200; i++) {
        const username = `user${i}`;
        // Every third user is gone, and every fifth session has ended.
        if (i % 3 === 0) {
          refs.push({ username, tokenId: `token-${i}` });
          continue;
        }
        await auth.users.create(username, hash, 1000);
        const user = await auth.users.findByUsername(username);
        rows.push({
          id: `token-${i}`,
          user_id: user?.id ?? 0,
          created_at: 1000,
          last_seen_at: 1000,
          expires_at: 9_999_999_999,
          absolute_expires_at: 9_999_999_999,
          ended_at: i % 5 === 0 ? 1500 : null,
        });
        refs.push({ username, tokenId: `token-${i}` });
      }
      for (let i = 0; i < rows.length; i += 200)
        await db
          .insertInto('sessions')
          .values(rows.slice(i, i + 200))
          .execute();
      const before = queries();
      const ended = await auth.findEndedSessions(refs);
      // 1200 ids and 1200 names, in IN lists of at most 500: three queries each.
      assert.equal(queries() - before, 6);
      const expected = refs.filter((_, i) => i % 3 === 0 || i % 5 === 0).map((s) => s.tokenId);
      assert.deepEqual([...ended].sort(), expected.sort());
      assert.equal((await auth.findEndedSessions([])).size, 0);
      assert.equal(queries() - before, 6, 'no sessions, no queries');
    });
  });
}

test('a token minted elsewhere is adopted once, unless revoked before or issued before "log out everywhere"', async (t) => {
  await withAuth(t, 'sqlite', async ({ auth, db }) => {
    const hash = await auth.passwords.hash('pw');
    for (const name of ['ann', 'bob']) assert.ok(await auth.users.create(name, hash, 1000));
    const token = pythonToken('ann');
    const adopted = await auth.authenticate(token, { ip: '10.0.0.1', userAgent: 'python' });
    assert.ok(adopted);
    const rows = await db.selectFrom('sessions').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.id, adopted.tokenId);
    assert.equal(rows[0]?.ip, '10.0.0.1');
    // Logged out, it is never adopted again.
    await auth.logout(adopted);
    assert.equal(await auth.authenticate(token), null);

    const legacy = pythonToken('bob', Math.floor(Date.now() / 1000) + 1800);
    const claims = createTokenService({ secret: SECRET, lifetimeHours: 1 }).verify(legacy);
    assert.ok(claims);
    await db
      .insertInto('revoked_tokens')
      .values({ token_id: tokenId(legacy, claims), expires_at: claims.exp })
      .execute();
    assert.equal(await auth.authenticate(legacy), null, 'revoked before session rows existed');

    await auth.users.invalidateTokens('bob', Math.floor(Date.now() / 1000) + 10);
    assert.equal(await auth.authenticate(pythonToken('bob')), null, 'issued before log out everywhere');
  });
});

test('renewal keeps the session and its id, moves expiry forward, and stops at the cap', async (t) => {
  await withAuth(
    t,
    'sqlite',
    async ({ auth, db }) => {
      assert.ok(await auth.users.create('ann', await auth.passwords.hash('pw'), 1000));
      const user = await auth.authenticate(await signIn(auth, 'ann'));
      assert.ok(user);
      assert.equal(await auth.renew(user), null, 'not due: more than half its life left');
      // A token of the same session with 5 of its 36 seconds left: due.
      const now = Math.floor(Date.now() / 1000);
      const tokens = createTokenService({ secret: SECRET, lifetimeHours: 0.01 });
      const old = tokens.sign('ann', now - 31, { jti: user.tokenId, exp: now + 5 });
      const oldUser = await auth.authenticate(old.token);
      assert.ok(oldUser);
      const renewed = await auth.renew(oldUser);
      assert.ok(renewed);
      assert.equal(renewed.claims.jti, user.tokenId);
      assert.ok(Math.abs(renewed.claims.exp - (now + 36)) <= 1, 'a full lifetime from now');
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', user.tokenId)
        .executeTakeFirst();
      assert.equal(Number(row?.expires_at), renewed.claims.exp, 'written before the token left');
      assert.equal(
        (await auth.renew(oldUser))?.token,
        renewed.token,
        'concurrent requests get the same token',
      );
      const again = await auth.authenticate(renewed.token);
      assert.ok(again);
      // The session's cap is 43 s after sign-in: asked for again, renewal stops there.
      const capped = await auth.renew(again, { asked: true });
      assert.equal(capped?.claims.exp ?? again.session.absoluteExpiresAt, again.session.absoluteExpiresAt);
      const atCap = await auth.authenticate(capped?.token ?? renewed.token);
      assert.ok(atCap);
      assert.equal(await auth.renew(atCap, { asked: true }), null, 'at the cap: nothing to renew');
    },
    { ACCESS_TOKEN_EXPIRE_HOURS: '0.01', SESSION_MAX_AGE_DAYS: '0.0005' },
  );
});

test('"last seen" is written in batches, at most once a minute per session, never on the request path', async (t) => {
  await withAuth(t, 'sqlite', async ({ auth, db, queries }) => {
    assert.ok(await auth.users.create('ann', await auth.passwords.hash('pw'), 1000));
    const token = await signIn(auth, 'ann');
    const user = await auth.authenticate(token);
    assert.ok(user);
    // Seen two minutes ago, as far as the database knows; forgotten by the cache.
    const old = Math.floor(Date.now() / 1000) - 120;
    await db.updateTable('sessions').set({ last_seen_at: old }).execute();
    auth.forgetCachedSessions();
    await auth.authenticate(token);
    const before = queries();
    for (let i = 0; i < 10; i++) await auth.authenticate(token);
    assert.equal(queries() - before, 0, 'nothing written while answering');
    await auth.flushLastSeen();
    const row = await db.selectFrom('sessions').select('last_seen_at').executeTakeFirst();
    assert.ok(Number(row?.last_seen_at) >= old + 120, 'written by the flush');
    const flushed = queries();
    await auth.authenticate(token);
    await auth.flushLastSeen();
    assert.equal(queries() - flushed, 0, 'not again within the minute');
  });
});
