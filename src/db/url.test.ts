import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDatabaseUrl } from './url.ts';

test('SQLAlchemy SQLite forms: three slashes are relative, four are absolute', () => {
  const cases: [string, string][] = [
    ['sqlite:///./app.db', './app.db'],
    ['sqlite:///relative.db', 'relative.db'],
    ['sqlite:///data/sub/app.db', 'data/sub/app.db'],
    ['sqlite:////abs/path.db', '/abs/path.db'],
    ['sqlite:////tmp/with%20space.db', '/tmp/with space.db'],
    ['sqlite+pysqlite:///./app.db', './app.db'],
    ['SQLITE:///upper.db', 'upper.db'],
    // SQLAlchemy query options (e.g. ?check_same_thread=false) are not part of the file name.
    ['sqlite:///app.db?check_same_thread=false', 'app.db'],
  ];
  for (const [url, filename] of cases)
    assert.deepEqual(parseDatabaseUrl(url), { dialect: 'sqlite', filename }, url);
});

test('in-memory SQLite: sqlite://, sqlite:///:memory: and sqlite://:memory:', () => {
  for (const url of ['sqlite://', 'sqlite:///:memory:', 'sqlite://:memory:'])
    assert.deepEqual(parseDatabaseUrl(url), { dialect: 'sqlite', filename: ':memory:' }, url);
});

test('PostgreSQL forms, with or without a driver suffix, become one libpq URL', () => {
  const cases: [string, string][] = [
    ['postgres://u:p@db:5432/app', 'postgresql://u:p@db:5432/app'],
    ['postgresql://u@db/app?sslmode=require', 'postgresql://u@db/app?sslmode=require'],
    ['postgresql+psycopg2://u:p@db/app', 'postgresql://u:p@db/app'],
    ['postgresql+asyncpg://db/app', 'postgresql://db/app'],
  ];
  for (const [url, connectionString] of cases)
    assert.deepEqual(parseDatabaseUrl(url), { dialect: 'postgres', connectionString }, url);
});

test('anything else is a TypeError naming the URL', () => {
  for (const url of [
    'mysql://db/app',
    'app.db',
    './app.db',
    'sqlite:app.db',
    'sqlite://host/app.db',
    'sqlite:///',
    'http://x',
  ])
    assert.throws(
      () => parseDatabaseUrl(url),
      (error: unknown) => {
        assert.ok(error instanceof TypeError, url);
        assert.match(error.message, /^DATABASE_URL: /);
        assert.ok(error.message.includes(url), `the message names "${url}"`);
        return true;
      },
    );
});
