/**
 * AuthService.findEndedSessions against real databases (SQLite, and PostgreSQL when available):
 * the same verdicts as `authenticate`, in a bounded number of queries however many sessions.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Kysely, KyselyPlugin } from 'kysely';
import { tempSqliteUrl } from '../../test/support/app.ts';
import { freshPostgresDatabase, requireService } from '../../test/support/services.ts';
import { loadConfig } from '../config.ts';
import { connectDatabase, type Dialect } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrations/index.ts';
import { type AuthService, createAuthService, type SessionRef } from './service.ts';
import { createTokenService } from './tokens.ts';

const SECRET = 'test-secret-key-that-is-long-enough-0123456789';

/**
 * Runs `body` with an AuthService over a fresh database of `dialect` and the number of queries it
 * has sent so far; skips when PostgreSQL is unavailable. The database is closed here, not in
 * t.after: PostgreSQL's is dropped by an earlier-registered hook.
 */
async function withAuth(
  t: TestContext,
  dialect: Dialect,
  body: (deps: { auth: AuthService; queries: () => number }) => Promise<void>,
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
    const config = loadConfig({ SECRET_KEY: SECRET, BCRYPT_ROUNDS: '4', INITIAL_USERS: '' });
    await body({ auth: createAuthService(db.withPlugin(counter), config), queries: () => count });
  } finally {
    await db.destroy();
  }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`findEndedSessions ends exactly the sessions authenticate would refuse (${dialect})`, async (t) => {
    await withAuth(t, dialect, async ({ auth }) => {
      const hash = await auth.passwords.hash('pw');
      for (const name of ['ann', 'bob', 'cid']) assert.ok(await auth.users.create(name, hash, 1000));
      const tokens = createTokenService({ secret: SECRET, lifetimeHours: 1 });
      const now = Math.floor(Date.now() / 1000);
      const signed = {
        current: tokens.sign('ann', now),
        revoked: tokens.sign('ann', now),
        stale: tokens.sign('bob', now - 60),
        fresh: tokens.sign('bob', now),
        gone: tokens.sign('cid', now),
      };
      const sessions = new Map<string, SessionRef>();
      for (const [name, { token }] of Object.entries(signed)) {
        const user = await auth.authenticate(token);
        assert.ok(user, `${name} starts valid`);
        sessions.set(name, user);
      }

      const toRevoke = await auth.authenticate(signed.revoked.token);
      assert.ok(toRevoke);
      await auth.logout(toRevoke);
      await auth.users.invalidateTokens('bob', now - 30);
      await auth.users.remove('cid');

      const ended = await auth.findEndedSessions([...sessions.values()]);
      for (const [name, { token }] of Object.entries(signed)) {
        const refused = (await auth.authenticate(token)) === null;
        assert.equal(ended.has(sessions.get(name)?.tokenId ?? ''), refused, name);
      }
      assert.deepEqual(
        [...ended].sort(),
        ['revoked', 'stale', 'gone'].map((name) => sessions.get(name)?.tokenId).sort(),
      );
    });
  });

  test(`findEndedSessions checks thousands of sessions in a bounded number of queries (${dialect})`, async (t) => {
    await withAuth(t, dialect, async ({ auth, queries }) => {
      const hash = await auth.passwords.hash('pw');
      const sessions: SessionRef[] = [];
      for (let i = 0; i < 1200; i++) {
        const username = `user${i}`;
        // Every third user is gone, and every fifth session's token was revoked.
        if (i % 3 !== 0) await auth.users.create(username, hash, 1000);
        const session = { username, tokenId: `token-${i}`, issuedAt: 2000 };
        if (i % 5 === 0) await auth.logout({ ...session, id: 0, expiresAt: 9_999_999_999 });
        sessions.push(session);
      }
      const before = queries();
      const ended = await auth.findEndedSessions(sessions);
      // 1200 names and 1200 ids, in IN lists of at most 500: three queries each.
      assert.equal(queries() - before, 6);
      const expected = sessions.filter((_, i) => i % 3 === 0 || i % 5 === 0).map((s) => s.tokenId);
      assert.deepEqual([...ended].sort(), expected.sort());
      assert.equal((await auth.findEndedSessions([])).size, 0);
      assert.equal(queries() - before, 6, 'no sessions, no queries');
    });
  });
}
