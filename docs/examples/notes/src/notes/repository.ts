// src/notes/repository.ts
import type { Generated, Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';

export interface NotesTable {
  id: Generated<number>;
  user_id: number;
  text: string;
}

export interface Note {
  id: number;
  text: string;
}

/** Typed queries on the notes table (declared here, so src/db/schema.ts stays as it is). */
export function createNoteRepository(database: Kysely<Database>) {
  const db = database.withTables<{ notes: NotesTable }>();
  return {
    listFor: (userId: number): Promise<Note[]> =>
      db.selectFrom('notes').select(['id', 'text']).where('user_id', '=', userId).orderBy('id').execute(),
    async add(userId: number, text: string): Promise<Note> {
      const row = await db
        .insertInto('notes')
        .values({ user_id: userId, text })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), text };
    },
  };
}
