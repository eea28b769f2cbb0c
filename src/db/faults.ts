/**
 * Database faults → `ServiceUnavailableError`, at the driver, so every query anywhere (routes,
 * timers, readiness) reports an unreachable database the same way and the one error handler
 * answers it with 503 + `Retry-After` instead of a 500 that looks like a bug.
 *
 * What counts as "unavailable" (the request may well succeed a little later): the connection
 * could not be made, broke, or timed out; the server is shutting down, starting or out of
 * connections or resources (SQLSTATE classes 08, 53, 57P0x); a statement or lock timeout
 * (57014, 55P03); on SQLite, a write lock held by another process past `busy_timeout` (BUSY,
 * LOCKED) or a failing disk (IOERR, FULL). Everything else — constraint violations, SQL bugs —
 * stays what it is.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { ServiceUnavailableError } from '../service-unavailable.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const UNAVAILABLE_SQLSTATES = new Set(['57014', '55P03', '57P01', '57P02', '57P03']);
/** pg's own errors carry no code; these are its messages for a connection that is gone. */
const PG_CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Client was closed|Connection ended unexpectedly/i;
/** SQLite primary result codes (errcode & 0xff): BUSY, LOCKED, IOERR, FULL. */
const SQLITE_UNAVAILABLE = new Set([5, 6, 10, 13]);

/** True when `error` says the database cannot serve the request right now (see above). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ServiceUnavailableError) return true;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (typeof errcode === 'number' && code === 'ERR_SQLITE_ERROR')
    return SQLITE_UNAVAILABLE.has(errcode & 0xff);
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code.startsWith('53');
  }
  return PG_CONNECTION_MESSAGES.test(error.message);
}

const translate = (error: unknown): unknown =>
  isDatabaseUnavailable(error) && !(error instanceof ServiceUnavailableError)
    ? new ServiceUnavailableError('database', { cause: error })
    : error;

/** A function, not a promise: SQLite's driver throws synchronously, before any promise exists. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error);
  }
}

class GuardedConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  constructor(inner: DatabaseConnection) {
    this.inner = inner;
  }
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return guard(() => this.inner.executeQuery<R>(query));
  }
  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const unwrap = (connection: DatabaseConnection) =>
  connection instanceof GuardedConnection ? connection.inner : connection;

class GuardedDriver implements Driver {
  readonly #inner: Driver;
  constructor(inner: Driver) {
    this.#inner = inner;
  }
  init() {
    return guard(() => this.#inner.init());
  }
  async acquireConnection() {
    return new GuardedConnection(await guard(() => this.#inner.acquireConnection()));
  }
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    return guard(() => this.#inner.beginTransaction(unwrap(connection), settings));
  }
  commitTransaction(connection: DatabaseConnection) {
    return guard(() => this.#inner.commitTransaction(unwrap(connection)));
  }
  rollbackTransaction(connection: DatabaseConnection) {
    return guard(() => this.#inner.rollbackTransaction(unwrap(connection)));
  }
  savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return guard(() => this.#required('savepoint')(unwrap(connection), name, compile));
  }
  rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return guard(() => this.#required('rollbackToSavepoint')(unwrap(connection), name, compile));
  }
  releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']) {
    return guard(() => this.#required('releaseSavepoint')(unwrap(connection), name, compile));
  }
  releaseConnection(connection: DatabaseConnection) {
    return this.#inner.releaseConnection(unwrap(connection));
  }
  destroy() {
    return this.#inner.destroy();
  }
  #required(name: 'savepoint' | 'rollbackToSavepoint' | 'releaseSavepoint') {
    const method = this.#inner[name];
    if (!method) throw new TypeError(`the database driver has no ${name}`);
    return method.bind(this.#inner);
  }
}

/** `dialect`, with its driver's failures of availability thrown as ServiceUnavailableError. */
export function withFaultMapping(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new GuardedDriver(dialect.createDriver()),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}
