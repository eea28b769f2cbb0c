import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { Kysely, type SqliteDatabase, sql } from 'kysely';
import { FairSqliteDialect, openSqlite } from './sqlite.ts';

/** Rows as plain objects (node:sqlite returns null-prototype ones). */
const plain = (rows: Iterable<unknown>) => [...rows].map((row) => ({ ...(row as object) }));

const files = new WeakMap<SqliteDatabase, string>();
const file = (db: SqliteDatabase) => files.get(db) as string;

function scratch(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-sqlite-'));
  const db = openSqlite(join(dir, 'test.db'));
  files.set(db, join(dir, 'test.db'));
  t.after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  db.prepare('create table t (id integer primary key, name text unique)').run([]);
  return db;
}

test('a statement prepared again for the same SQL runs with its new parameters', (t) => {
  const db = scratch(t);
  const insert = 'insert into t (name) values (?)';
  for (const name of ['a', 'b', 'c']) db.prepare(insert).run([name]);
  const select = 'select name from t where id > ? order by id';
  assert.deepEqual(plain(db.prepare(select).all([0])), [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
  assert.deepEqual(plain(db.prepare(select).all([2])), [{ name: 'c' }]);
  assert.equal(db.prepare(select).reader, true);
  assert.equal(db.prepare(insert).reader, false);
});

test('a failed run leaves the statement usable', (t) => {
  const db = scratch(t);
  const insert = 'insert into t (name) values (?)';
  db.prepare(insert).run(['a']);
  assert.throws(() => db.prepare(insert).run(['a']), /UNIQUE/);
  db.prepare(insert).run(['b']);
  assert.deepEqual(plain(db.prepare('select count(*) as n from t').all([])), [{ n: 2 }]);
});

test('an open iterator is not disturbed by the same query running meanwhile', (t) => {
  const db = scratch(t);
  for (const name of ['a', 'b', 'c']) db.prepare('insert into t (name) values (?)').run([name]);
  const select = 'select name from t where id >= ? order by id';
  const iterator = db.prepare(select).iterate([1]);
  assert.deepEqual(plain([iterator.next().value]), [{ name: 'a' }]);
  assert.deepEqual(plain(db.prepare(select).all([3])), [{ name: 'c' }]);
  assert.deepEqual(plain(iterator), [{ name: 'b' }, { name: 'c' }]);
});

test('more distinct queries than the cache holds still all run', (t) => {
  const db = scratch(t);
  db.prepare('insert into t (name) values (?)').run(['a']);
  for (let i = 0; i < 600; i++)
    assert.deepEqual(plain(db.prepare(`select ${i} as n, name from t`).all([])), [{ n: i, name: 'a' }]);
});

test('a busy log is checkpointed by a worker thread, not by the connection that serves requests', async (t) => {
  const db = scratch(t);
  const insert = 'insert into t (name) values (?)';
  const walBytes = () => statSync(`${file(db)}-wal`).size;
  // Each insert commits on its own: one 4 KiB page of log each, ~2.4 MiB per round.
  let rows = 0;
  const round = () => {
    for (let i = 0; i < 600; i++) db.prepare(insert).run([`row ${rows++}`]);
  };
  const autocheckpoint = () =>
    Object.values(plain(db.prepare('pragma wal_autocheckpoint').all([]))[0] ?? {})[0];
  assert.equal(autocheckpoint(), 1000, 'SQLite checkpoints itself until the log grows');
  round();
  await sleep(1300);
  assert.equal(autocheckpoint(), 0, 'past 1 MiB of log, this connection stops checkpointing');
  // Without checkpoints the log would keep every round (~10 MiB by the end); the worker's
  // checkpoints let each round start the log over.
  for (let i = 0; i < 3; i++) {
    round();
    await sleep(1300);
  }
  assert.ok(walBytes() < 6 * 1024 * 1024, `log of ${walBytes()} bytes after four rounds`);
  assert.deepEqual(plain(db.prepare('select count(*) as n from t').all([])), [{ n: rows }]);
});

test('queries waiting for the connection all run, in the order they asked for it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-sqlite-'));
  const db = new Kysely<{ t: { n: number } }>({
    dialect: new FairSqliteDialect({ database: openSqlite(join(dir, 'fair.db')) }),
  });
  t.after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  await sql`create table t (n integer)`.execute(db);
  const order: number[] = [];
  // A transaction holds the connection while 200 queries line up behind it.
  let release = () => {};
  const held = db.transaction().execute(() => new Promise<void>((resolve) => (release = resolve)));
  await sleep(10);
  const waiting = Array.from({ length: 200 }, (_, n) =>
    sql`insert into t (n) values (${n})`.execute(db).then(() => {
      order.push(n);
    }),
  );
  await sleep(10);
  assert.deepEqual(order, [], 'nothing runs while the transaction holds the connection');
  release();
  await Promise.all([held, ...waiting]);
  assert.deepEqual(
    order,
    Array.from({ length: 200 }, (_, n) => n),
  );
  const stored = await sql<{ n: number }>`select n from t order by rowid`.execute(db);
  assert.deepEqual(
    stored.rows.map((row) => row.n),
    order,
  );
});

test('opening a database another process is writing waits for it instead of failing at once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const filename = join(dir, 'busy.db');
  // A fresh file (rollback journal) that another connection is writing for a moment: switching it
  // to WAL needs that writer gone, as when several processes start on a new database at once.
  const writer = new Worker(
    `const { DatabaseSync } = require('node:sqlite');
     const { workerData, parentPort } = require('node:worker_threads');
     const db = new DatabaseSync(workerData.filename);
     db.exec('create table t (x); begin immediate; insert into t values (1)');
     parentPort.postMessage('writing');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
     db.exec('commit');
     db.close();`,
    { eval: true, workerData: { filename } },
  );
  await once(writer, 'message');
  const db = openSqlite(filename);
  t.after(() => db.close());
  assert.deepEqual(plain(db.prepare('select x from t').all([])), [{ x: 1 }]);
  assert.deepEqual(plain(db.prepare('pragma journal_mode').all([])), [{ journal_mode: 'wal' }]);
  await once(writer, 'exit');
});
