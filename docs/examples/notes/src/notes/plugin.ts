// src/notes/plugin.ts
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { currentUser } from '../auth/plugin.ts';
import { errorResponse, FORM_CONTENT_TYPES, htmlPage, redirect, SIGNED_IN } from '../web/schemas.ts';
import { createNoteRepository } from './repository.ts';

const NoteForm = Type.Object({
  text: Type.String({ minLength: 1, maxLength: 500, examples: ['Buy milk'] }),
  _csrf: Type.Optional(Type.String()),
});
const NoteBody = Type.Object(
  { id: Type.Integer(), text: Type.String() },
  { examples: [{ id: 1, text: 'Buy milk' }] },
);

/** A notes page that updates live in every tab of its user. */
export default async function notesPlugin(app: FastifyInstance) {
  const notes = createNoteRepository(app.db);

  // A page: anonymous visitors are sent to /login. The view gets user, streamUrl and
  // lastEventId by itself.
  app.get(
    '/notes',
    {
      schema: {
        summary: 'Notes page',
        tags: ['pages'],
        response: { 200: htmlPage('The page'), 302: redirect('To /login') },
      },
      preHandler: app.requirePageUser,
    },
    async (request, reply) =>
      reply.view('notes.njk', { notes: await notes.listFor(currentUser(request).id) }),
  );

  // A form/fetch endpoint: 401 for anonymous callers, CSRF token for cookie callers, body checked (400).
  app.post<{ Body: Static<typeof NoteForm> }>(
    '/notes',
    {
      schema: {
        summary: 'Add a note',
        tags: ['pages'],
        consumes: FORM_CONTENT_TYPES,
        security: SIGNED_IN,
        body: NoteForm,
        response: {
          201: NoteBody,
          400: errorResponse('Bad text', 'Invalid request: body/text must NOT have fewer than 1 characters'),
        },
      },
      preHandler: [app.requireApiUser, app.csrfProtection],
    },
    async (request, reply) => {
      const user = currentUser(request);
      // The row and the message announcing it are stored together or not at all.
      const note = await app.events.transaction(async (trx, publish) => {
        const added = await createNoteRepository(trx).add(user.id, request.body.text);
        // The pushed fragment is the partial the page renders: every tab appends the same <li>.
        const item = await app.view('partials/note-item.njk', { note: added });
        await publish(user.username, { html: { 'note-list': { content: item, swap: 'append' } } });
        return added;
      });
      return reply.code(201).send(note);
    },
  );
}
