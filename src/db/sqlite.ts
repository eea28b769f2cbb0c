import { statSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely';

/**
 * Prepared statements kept per connection, by SQL text. Kysely asks for a statement on every
 * query, and preparing one costs more than running a simple query; the app's queries are a few
 * dozen texts (IN lists vary with their length, hence the bound), so nearly every query reuses one.
 */
const STATEMENT_CACHE_SIZE = 256;

/** How long a statement waits for another process's write lock before failing (then 503). */
export const BUSY_TIMEOUT_MS = 1000;

/** How often the write-ahead log's size is looked at, and the size past which it is checkpointed. */
const WAL_CHECK_MS = 1000;
const WAL_CHECKPOINT_BYTES = 1024 * 1024;

/**
 * Adapts Node's built-in `node:sqlite` to the small interface Kysely's SqliteDialect expects
 * (the better-sqlite3 shape), so the embedded default needs no native addon.
 */
export function openSqlite(filename: string): SqliteDatabase {
  const database = new DatabaseSync(filename);
  // WAL lets readers run during a write and survives crashes; busy_timeout covers the CLI
  // writing while the server runs. node:sqlite waits *synchronously*, stalling every request
  // and stream meanwhile, so the wait is short: past it the request gets 503 (src/db/faults.ts).
  database.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  switchToWal(database);
  database.exec('PRAGMA foreign_keys = ON');
  database.exec('PRAGMA synchronous = NORMAL');
  const stopCheckpoints = checkpointInBackground(database, filename);
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => {
      stopCheckpoints();
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

/** How long opening a new database waits for other processes to let it switch to WAL. */
const WAL_SWITCH_LIMIT_MS = 10_000;

/**
 * `journal_mode = WAL`. On a new file (still in rollback-journal mode) the switch needs every
 * other connection gone, and SQLite refuses it at once, busy_timeout or not, while another process
 * writes — as when several processes start on a new database together. So it is retried for a
 * while: only ever at open (start-up, the CLI), where a short synchronous wait blocks nobody.
 */
function switchToWal(database: DatabaseSync): void {
  const deadline = Date.now() + WAL_SWITCH_LIMIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      database.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (error) {
      const { errcode } = error as { errcode?: unknown };
      const busy = typeof errcode === 'number' && (errcode & 0xff) === SQLITE_BUSY;
      if (!busy || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 20);
    }
  }
}

const SQLITE_BUSY = 5;

/**
 * Moves WAL checkpoints off the event loop. SQLite checkpoints on the connection that commits
 * once the log passes 1,000 pages: copying them into the database and fsyncing it stalled that
 * commit — and every request behind it — for milliseconds, the whole p99 of a publish. Once the
 * log first passes WAL_CHECKPOINT_BYTES (a process that writes little never gets this far), a
 * worker thread with its own connection checkpoints whenever the log has grown past it again,
 * and this connection stops checkpointing itself. Should the worker fail or stop, it takes over again.
 */
function checkpointInBackground(database: DatabaseSync, filename: string): () => void {
  if (filename === ':memory:' || filename === '') return () => {};
  let worker: Worker | null = null;
  let failed = false;
  const fallBack = () => {
    failed = true;
    worker = null;
    if (database.isOpen) database.exec('PRAGMA wal_autocheckpoint = 1000');
  };
  const timer = setInterval(() => {
    let size: number;
    try {
      size = statSync(`${filename}-wal`).size;
    } catch {
      return;
    }
    if (size < WAL_CHECKPOINT_BYTES || failed) return;
    if (worker === null) {
      worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), { workerData: { filename } });
      worker.unref();
      // Failing, or gone while still needed (it could not open the file): this connection
      // checkpoints itself again.
      worker.on('error', fallBack).on('exit', fallBack);
      database.exec('PRAGMA wal_autocheckpoint = 0');
    }
    worker.postMessage('checkpoint');
  }, WAL_CHECK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    // Closing: whatever the worker still reports (its database removed with a test's folder)
    // has nothing left to fall back on.
    worker
      ?.off('error', fallBack)
      .off('exit', fallBack)
      .on('error', () => {});
    worker?.postMessage('close');
    worker = null;
  };
}

/**
 * Kysely's SQLite dialect with a fair lock on its one connection. Kysely's own lock wakes every
 * waiter whenever it is released (they all race for it, and a caller arriving meanwhile can take
 * it first): with a hundred requests each waiting for a query, every release cost a hundred
 * wake-ups and a few unlucky queries waited for seconds. Here the lock is handed to the oldest
 * waiter directly, so Kysely's own is never contended.
 */
export class FairSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new FairSqliteDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter();
  }
}

/**
 * SQLite runs DDL inside transactions, though Kysely's adapter says otherwise: so each migration
 * run is one transaction — all or nothing — and, begun `immediate`, processes starting together on
 * a new database take turns instead of interleaving their migrations.
 */
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class FairSqliteDriver extends SqliteDriver {
  readonly #waiting: (() => void)[] = [];
  #held = false;

  /**
   * `begin immediate`: a transaction takes the write lock as it starts, waiting (busy_timeout) for
   * another process's writer. A plain `begin` takes it at its first write and, in WAL mode, fails
   * there at once, without waiting, if another process wrote since the transaction's first read —
   * so two processes migrating a new database, or the CLI writing beside the server, collided,
   * and with the log in Redis (its append runs inside the transaction) half of two WORKERS'
   * concurrent course adds failed with 503.
   */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#held = true;
    return super.acquireConnection();
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    const next = this.#waiting.shift();
    // Handed over while still held: nobody arriving in between can take it out of turn.
    if (next) next();
    else this.#held = false;
  }
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
