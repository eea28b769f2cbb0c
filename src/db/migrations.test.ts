/**
 * Migrations adopt a database the Python template made (its exact SQLAlchemy DDL, on SQLite and
 * on PostgreSQL) without touching its rows, and running them again changes nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { tempSqliteUrl } from '../../test/support/app.ts';
import { freshPostgresDatabase, requireService } from '../../test/support/services.ts';
import { createPasswordHasher } from '../auth/passwords.ts';
import { createUserRepository } from '../auth/users.ts';
import { connectDatabase, type Dialect } from './connect.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';

/** What SQLAlchemy's create_all emits for the seed's User model (captured from SQLAlchemy 1.4). */
const PYTHON_DDL = {
  sqlite: [
    'CREATE TABLE users (id INTEGER NOT NULL, username VARCHAR, hashed_password VARCHAR, PRIMARY KEY (id))',
    'CREATE UNIQUE INDEX ix_users_username ON users (username)',
    'CREATE INDEX ix_users_id ON users (id)',
  ],
  postgres: [
    'CREATE TABLE users (id SERIAL NOT NULL, username VARCHAR, hashed_password VARCHAR, PRIMARY KEY (id))',
    'CREATE UNIQUE INDEX ix_users_username ON users (username)',
    'CREATE INDEX ix_users_id ON users (id)',
  ],
};
// passlib's CryptContext(schemes=["bcrypt"]).hash("wonderland", rounds=4), as the Python app stores it.
const PASSLIB_HASH = '$2b$04$ea4dI8Y3snF7WnuXIAJl0ONewFBEMS.4f2ypazCzcti7IYZNcSPa.';

async function checkAdoption(url: string) {
  const { db, dialect } = connectDatabase(url);
  // Closed here, not in t.after: the PostgreSQL database is dropped by an earlier-registered hook.
  try {
    await adopt(db, dialect);
  } finally {
    await db.destroy();
  }
}

async function adopt(db: Kysely<Database>, dialect: Dialect) {
  for (const statement of PYTHON_DDL[dialect]) await sql.raw(statement).execute(db);
  await sql`insert into users (username, hashed_password) values ('alice', ${PASSLIB_HASH}), ('bob', 'x')`.execute(
    db,
  );
  const rows = () =>
    db.selectFrom('users').select(['id', 'username', 'hashed_password']).orderBy('id').execute();
  const before = await rows();

  await migrateToLatest(db as Kysely<unknown>, dialect);
  await migrateToLatest(db as Kysely<unknown>, dialect);
  assert.deepEqual(await rows(), before);

  const users = createUserRepository(db);
  const alice = await users.findByUsername('alice');
  assert.equal(alice?.tokens_valid_after, 0, 'adopted users keep every token they already hold');
  assert.equal(await createPasswordHasher(4).verify('wonderland', alice?.hashed_password ?? null), true);
  // New rows get ids from the Python table's own sequence / rowid, after the existing ones.
  assert.equal(await users.create('carol', PASSLIB_HASH), true);
  const carol = await users.findByUsername('carol');
  assert.ok((carol?.id ?? 0) > Math.max(...before.map((r) => r.id)));
  assert.equal(await users.create('alice', PASSLIB_HASH), false, 'the unique index still holds');
  await db
    .insertInto('courses')
    .values({ user_id: carol?.id ?? 0, title: 'Adopted', created_at: 1 })
    .execute();
}

test('SQLite: a Python-template database is adopted as is, and migrating twice changes nothing', async (t) => {
  await checkAdoption(tempSqliteUrl(t));
});

test('PostgreSQL: a Python-template database is adopted as is, and migrating twice changes nothing', async (t) => {
  const url = await freshPostgresDatabase(t);
  if (!requireService(t, url !== null, 'PostgreSQL') || url === null) return;
  await checkAdoption(url);
});

test('a fresh database gets every table, and the migrations run again as a no-op', async (t) => {
  const { db, dialect } = connectDatabase(tempSqliteUrl(t));
  t.after(() => db.destroy());
  await migrateToLatest(db as Kysely<unknown>, dialect);
  const tables = async () => (await db.introspection.getTables()).map((table) => table.name).sort();
  const first = await tables();
  for (const name of [
    'courses',
    'login_failures',
    'revoked_tokens',
    'sse_event_horizons',
    'sse_events',
    'users',
  ])
    assert.ok(first.includes(name), name);
  await migrateToLatest(db as Kysely<unknown>, dialect);
  assert.deepEqual(await tables(), first);
});
