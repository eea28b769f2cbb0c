import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { openSqlite } from './sqlite.ts';
import { parseDatabaseUrl } from './url.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
}

const INT8_OID = 20;

/** Opens the database a DATABASE_URL names. The caller owns the handle: `db.destroy()` closes it. */
export function connectDatabase(url: string): DatabaseHandle {
  const target = parseDatabaseUrl(url);
  if (target.dialect === 'sqlite') {
    return {
      dialect: 'sqlite',
      db: new Kysely<Database>({ dialect: new SqliteDialect({ database: openSqlite(target.filename) }) }),
    };
  }
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: 10,
    // bigserial ids and COUNT(*) arrive as strings by default; ours stay far below 2^53.
    types: {
      getTypeParser: (oid, format) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)),
    },
  });
  return { dialect: 'postgres', db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}
