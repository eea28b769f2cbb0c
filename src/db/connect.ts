import { createRequire } from 'node:module';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pgModule from 'pg';
import { withFaultMapping } from './faults.ts';
import type { Database } from './schema.ts';
import { FairSqliteDialect, openSqlite } from './sqlite.ts';
import { parseDatabaseUrl } from './url.ts';

/** pg's error for a query whose answer did not come within `query_timeout`. */
const READ_TIMEOUT = 'Query read timeout';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
}

export interface ConnectOptions {
  /** How long a query waits for a connection (opening one included) before it fails (503). */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout`; the client gives up a little later if even that is lost. */
  statementTimeoutMs?: number;
  /**
   * Connection problems no query is waiting for (an idle connection reset by a database restart
   * or a network blip). Reported, never thrown: the pool drops that connection and opens another
   * when the database is back.
   */
  onError?: (error: Error) => void;
}

/**
 * node-postgres, loaded on first use: a SQLite deployment (the default) never pays for it at
 * start-up. It is CommonJS, so `require` keeps `connectDatabase` synchronous.
 */
const loadPg = () => createRequire(import.meta.url)('pg') as typeof pgModule;

const INT8_OID = 20;
/** A query whose answer is lost on a black-holed connection fails this long after the server's own timeout. */
const CLIENT_TIMEOUT_MARGIN_MS = 2000;

/**
 * Opens the database a DATABASE_URL names. The caller owns the handle: `db.destroy()` closes it.
 * Every availability fault is thrown as ServiceUnavailableError (src/db/faults.ts).
 */
export function connectDatabase(url: string, options: ConnectOptions = {}): DatabaseHandle {
  const target = parseDatabaseUrl(url);
  if (target.dialect === 'sqlite') {
    const dialect = new FairSqliteDialect({ database: openSqlite(target.filename) });
    return { dialect: 'sqlite', db: new Kysely<Database>({ dialect: withFaultMapping(dialect) }) };
  }
  const { connectTimeoutMs = 5000, statementTimeoutMs = 15_000 } = options;
  const onError = options.onError ?? (() => {});
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: 10,
    // Without these a request waits as long as TCP does (minutes) when the database is away.
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    // A transaction left open by a client that died must not hold its locks (the log's append lock).
    idle_in_transaction_session_timeout: statementTimeoutMs * 2,
    keepAlive: true,
    // bigserial ids and COUNT(*) arrive as strings by default; ours stay far below 2^53.
    types: {
      getTypeParser: (oid, format) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)),
    },
  });
  // An 'error' event nobody listens to ends the process. The pool emits one for idle clients;
  // a client checked out between two queries (inside a transaction, or holding the migration
  // lock) emits its own, so every client gets a listener as it is created.
  pool.on('connect', (client) => client.on('error', (error) => onError(error)));
  pool.on('error', () => {}); // the same error, already reported by the client's listener
  const dialect = new PostgresDialect({ pool: discardingSilentClients(pool) });
  return { dialect: 'postgres', db: new Kysely<Database>({ dialect: withFaultMapping(dialect) }) };
}

/**
 * The pool as Kysely sees it, except that a client whose query got no answer in time is destroyed
 * when released instead of going back to the pool. pg keeps such a client (its answer may still
 * come), but on a connection a partition left silent for good — the database host died without a
 * word, its replacement never heard of the connection — it never does: every later query on it
 * would wait out the timeout too, and the pool hands the most recently released client out first,
 * so under load the same dead connections would fail request after request until TCP gives up,
 * minutes after the database is back. Each silent connection now costs one failed query.
 */
function discardingSilentClients(pool: pgModule.Pool): PostgresPool {
  const facades = new WeakMap<pgModule.PoolClient, PostgresPoolClient>();
  const facade = (client: pgModule.PoolClient): PostgresPoolClient => {
    let silent = false;
    const query = (...args: unknown[]): unknown => {
      // A rollback after the timeout would only queue behind the lost answer and time out too.
      if (silent) return Promise.reject(new Error(`${READ_TIMEOUT} (the connection went silent)`));
      const result = (client.query as (...a: unknown[]) => unknown)(...args);
      if (result instanceof Promise)
        result.catch((error: unknown) => {
          if (error instanceof Error && error.message === READ_TIMEOUT) silent = true;
        });
      return result;
    };
    return {
      query: query as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy === true || silent),
    };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapped = facades.get(client);
      if (!wrapped) {
        wrapped = facade(client);
        facades.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}
