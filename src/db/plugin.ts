import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { connectDatabase, type Dialect } from './connect.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
    dbDialect: Dialect;
  }
}

/** Opens the database, migrates it, and closes it when the app closes. */
export default fp(
  async (app, opts: { config: Config }) => {
    const { config } = opts;
    const { db, dialect } = connectDatabase(config.databaseUrl, {
      connectTimeoutMs: config.databaseConnectTimeoutSeconds * 1000,
      statementTimeoutMs: config.databaseStatementTimeoutSeconds * 1000,
      onError: (err) => app.log.warn({ err }, 'database connection lost; reconnecting on next use'),
    });
    app.addHook('onClose', () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, dialect);
    app.decorate('db', db);
    app.decorate('dbDialect', dialect);
  },
  { name: 'db' },
);
