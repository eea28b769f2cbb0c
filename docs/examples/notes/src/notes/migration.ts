// src/notes/migration.ts
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../db/connect.ts';

/** The notes table. Listed in src/db/migrations/index.ts under the next number. */
export function notesMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      const postgres = dialect === 'postgres';
      await db.schema
        .createTable('notes')
        .addColumn('id', postgres ? 'serial' : 'integer', (c) =>
          postgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('text', 'varchar(500)', (c) => c.notNull())
        .execute();
    },
  };
}
