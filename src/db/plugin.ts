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
    const { db, dialect } = connectDatabase(opts.config.databaseUrl);
    app.addHook('onClose', () => db.destroy());
    await migrateToLatest(db as Kysely<unknown>, dialect);
    app.decorate('db', db);
    app.decorate('dbDialect', dialect);
  },
  { name: 'db' },
);
