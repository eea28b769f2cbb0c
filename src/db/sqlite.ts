import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Prepared statements kept per connection, by SQL text. Kysely asks for a statement on every
 * query, and preparing one costs more than running a simple query; the app's queries are a few
 * dozen texts (IN lists vary with their length, hence the bound), so nearly every query reuses one.
 */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Adapts Node's built-in `node:sqlite` to the small interface Kysely's SqliteDialect expects
 * (the better-sqlite3 shape), so the embedded default needs no native addon.
 */
export function openSqlite(filename: string): SqliteDatabase {
  const database = new DatabaseSync(filename);
  // WAL lets readers run during a write and survives crashes; busy_timeout covers the CLI
  // writing while the server runs.
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA busy_timeout = 5000');
  database.exec('PRAGMA foreign_keys = ON');
  database.exec('PRAGMA synchronous = NORMAL');
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (statement) {
        // Least recently used goes first: re-insert on every hit.
        statements.delete(sql);
      } else {
        statement = adapt(database, sql);
        if (statements.size >= STATEMENT_CACHE_SIZE)
          statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}

function adapt(database: DatabaseSync, sql: string): SqliteStatement {
  const statement: StatementSync = database.prepare(sql);
  const bind = (parameters: ReadonlyArray<unknown>) => parameters.map(toSqliteValue);
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...bind(parameters)),
    run: (parameters) => statement.run(...bind(parameters)),
    // An iterator holds its statement until it is done: a shared statement would be reset under
    // it by the next query, so streaming gets a statement of its own.
    iterate: (parameters) => database.prepare(sql).iterate(...bind(parameters)),
  };
}

function toSqliteValue(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value === undefined ? null : (value as SQLInputValue);
}
