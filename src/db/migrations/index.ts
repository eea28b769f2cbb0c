import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import type { Dialect } from '../connect.ts';
import { BUSY_TIMEOUT_MS } from '../sqlite.ts';

/** SQLite: how long a starting process waits for another one's migration run. */
const MIGRATION_BUSY_TIMEOUT_MS = 30_000;

/**
 * Numbered, forward-only migrations. The first one is written so that a database created by the
 * Python template (SQLAlchemy: `users(id INTEGER PK, username VARCHAR UNIQUE, hashed_password
 * VARCHAR)`) is adopted as is: tables are created only when missing and existing rows are never
 * rewritten; later ones only add tables and defaulted columns.
 */
function createMigrations(dialect: Dialect): Record<string, Migration> {
  // Both forms are rowid/sequence-backed integers, so ids stay numbers in either database.
  const serial = dialect === 'postgres' ? 'serial' : 'integer';
  const bigSerial = dialect === 'postgres' ? 'bigserial' : 'integer';
  const autoIncrement = dialect === 'sqlite';
  return {
    '001_users': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('users')
          .ifNotExists()
          .addColumn('id', serial, (c) => (autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('username', 'varchar', (c) => c.notNull().unique())
          .addColumn('hashed_password', 'varchar', (c) => c.notNull())
          .execute();
      },
    },
    '002_users_tokens_valid_after': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable('users')
          .addColumn('tokens_valid_after', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '003_courses': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('courses')
          .addColumn('id', serial, (c) => (autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey()))
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('title', 'varchar(200)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('courses_user_id_idx').on('courses').columns(['user_id', 'id']).execute();
      },
    },
    '004_sse_events': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('sse_events')
          .addColumn('id', bigSerial, (c) =>
            autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('recipient', 'varchar', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('sse_events_recipient_idx')
          .on('sse_events')
          .columns(['recipient', 'id'])
          .execute();
        await db.schema
          .createIndex('sse_events_created_at_idx')
          .on('sse_events')
          .column('created_at')
          .execute();
      },
    },
    '005_revoked_tokens': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('revoked_tokens')
          .addColumn('token_id', 'varchar(128)', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('revoked_tokens_expires_at_idx')
          .on('revoked_tokens')
          .column('expires_at')
          .execute();
      },
    },
    '006_login_failures': {
      async up(db: Kysely<unknown>) {
        // Failed-login counters (src/auth/login-throttle.ts) when REDIS_URL is unset.
        await db.schema
          .createTable('login_failures')
          .addColumn('throttle_key', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('reset_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('login_failures_reset_at_idx')
          .on('login_failures')
          .column('reset_at')
          .execute();
      },
    },
    '007_sse_event_horizons': {
      async up(db: Kysely<unknown>) {
        // Per recipient, the highest event id retention has deleted: a resume from below it
        // missed something and must reload (src/events/sql-log.ts).
        await db.schema
          .createTable('sse_event_horizons')
          .addColumn('recipient', 'varchar(255)', (c) => c.primaryKey())
          .addColumn('pruned_through', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '008_sessions': {
      async up(db: Kysely<unknown>) {
        // One row per signed-in session, keyed by its token id (`jti`, or the canonical id of a
        // Python-template token). Rows outlive their end (`ended_at`) until every token of the
        // session has expired, so an ended session can never be adopted again (src/auth/sessions.ts).
        await db.schema
          .createTable('sessions')
          .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
          .addColumn('persistent', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('user_agent', 'varchar(512)', (c) => c.notNull().defaultTo(''))
          .addColumn('ip', 'varchar(64)', (c) => c.notNull().defaultTo(''))
          .addColumn('ended_at', 'bigint')
          .execute();
        await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();
        await db.schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();
      },
    },
    '009_users_email': {
      async up(db: Kysely<unknown>) {
        // Added, nullable columns: the Python template's rows stay as they are.
        await db.schema.alterTable('users').addColumn('email', 'varchar(254)').execute();
        await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute();
        // Anyone may type any address, so unverified ones may repeat; a verified address
        // belongs to one account (password reset finds the account by it).
        await db.schema
          .createIndex('users_verified_email_idx')
          .on('users')
          .column('email')
          .unique()
          .where(sql.ref('email_verified_at'), 'is not', null)
          .execute();
      },
    },
    '010_account_tokens': {
      async up(db: Kysely<unknown>) {
        // Single-use mail tokens (email verification, password reset): only their SHA-256 is stored.
        await db.schema
          .createTable('account_tokens')
          .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('purpose', 'varchar(32)', (c) => c.notNull())
          .addColumn('email', 'varchar(254)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('account_tokens_user_idx')
          .on('account_tokens')
          .columns(['user_id', 'purpose'])
          .execute();
      },
    },
    '011_security_events': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('security_events')
          .addColumn('id', bigSerial, (c) =>
            autoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
          )
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('kind', 'varchar(32)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('ip', 'varchar(64)', (c) => c.notNull().defaultTo(''))
          .addColumn('user_agent', 'varchar(512)', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.schema
          .createIndex('security_events_user_idx')
          .on('security_events')
          .columns(['user_id', 'id'])
          .execute();
      },
    },
    '012_sse_event_bytes': {
      async up(db: Kysely<unknown>) {
        // Per recipient, the bytes its messages in the log hold: the log's byte budget is
        // enforced on every append without summing the log (src/events/sql-log.ts). Counted once
        // here for the messages already stored.
        await db.schema
          .alterTable('sse_event_horizons')
          .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await sql`
          insert into sse_event_horizons (recipient, pruned_through, bytes)
          select recipient, 0, sum(octet_length(data)) from sse_events group by recipient
          on conflict (recipient) do update set bytes = excluded.bytes`.execute(db);
      },
    },
  };
}

/** Brings the schema up to date; safe to run on every start and from several instances. */
export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const provider = { getMigrations: async () => createMigrations(dialect) };
  const run = async (target: Kysely<unknown>) => {
    const { error } = await new Migrator({ db: target, provider }).migrateToLatest();
    if (error) throw error;
  };
  if (dialect !== 'postgres') {
    // Each migration run is one `begin immediate` transaction (sqlite.ts), so processes starting
    // together on a new file take turns; the next may wait for a whole run, longer than a
    // request should ever wait for the lock. Nothing is served yet, so the wait blocks nobody.
    await sql.raw(`PRAGMA busy_timeout = ${MIGRATION_BUSY_TIMEOUT_MS}`).execute(db);
    try {
      return await run(db);
    } finally {
      await sql.raw(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`).execute(db);
    }
  }
  // Kysely locks its own table on PostgreSQL, but two instances racing to create that table
  // can still collide; an advisory lock held on one connection serialises the whole run.
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(727274)`.execute(conn);
    try {
      await run(conn);
    } finally {
      await sql`select pg_advisory_unlock(727274)`.execute(conn);
    }
  });
}
