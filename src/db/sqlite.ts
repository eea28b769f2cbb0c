import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase } from 'kysely';

/**
 * Adapts Node's built-in `node:sqlite` to the small interface Kysely's SqliteDialect expects
 * (the better-sqlite3 shape), so the embedded default needs no native addon.
 */
export function openSqlite(filename: string): SqliteDatabase {
  const database = new DatabaseSync(filename);
  // WAL lets readers run during a write and survives crashes; busy_timeout covers the CLI
  // writing while the server runs. node:sqlite waits *synchronously*, stalling every request
  // and stream meanwhile, so the wait is short: past it the request gets 503 (src/db/faults.ts).
  database.exec('PRAGMA journal_mode = WAL');
  database.exec('PRAGMA busy_timeout = 1000');
  database.exec('PRAGMA foreign_keys = ON');
  database.exec('PRAGMA synchronous = NORMAL');
  return {
    close: () => database.close(),
    prepare(sql: string) {
      const statement = database.prepare(sql);
      const bind = (parameters: ReadonlyArray<unknown>) => parameters.map(toSqliteValue);
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...bind(parameters)),
        run: (parameters) => statement.run(...bind(parameters)),
        iterate: (parameters) => statement.iterate(...bind(parameters)),
      };
    },
  };
}

function toSqliteValue(value: unknown): SQLInputValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value === undefined ? null : (value as SQLInputValue);
}
