/**
 * The demo feature: a per-user course list that updates live in every open tab.
 *
 * Every change is stored and announced together or not at all (`app.events.transaction`), and
 * announces only what changed — the added item, the renamed item, the removed id — rendered by
 * the same partial the page uses, so a push and a reload never disagree and a long list costs
 * each push nothing. (Pushing the whole list on every add let one account store quadratic bytes.)
 * One account holds at most COURSES_MAX_PER_USER courses. Another user's course id is a 404, as
 * if it did not exist.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { currentUser } from '../auth/plugin.ts';
import type { Config } from '../config.ts';
import type { SseMessage } from '../events/messages.ts';
import { CourseLimitError, CourseNotFoundError } from './errors.ts';
import { type Course, createCourseRepository, MAX_COURSE_TITLE_LENGTH } from './repository.ts';

/** The id of the list on the protected page; an add appends to it. */
export const COURSE_LIST_ID = 'course-list';
/** The id of one course's item; a rename replaces it, a delete removes it. */
export const courseItemId = (id: number) => `course-${id}`;

const ErrorJson = Type.Object({ error: Type.String() }, { examples: [{ error: 'Not Found' }] });
const CourseJson = Type.Object(
  { id: Type.Integer({ minimum: 1 }), title: Type.String() },
  { examples: [{ id: 7, title: 'Calculus' }] },
);
const CourseTitle = Type.String({
  minLength: 1,
  maxLength: MAX_COURSE_TITLE_LENGTH,
  pattern: '\\S',
  description: 'Surrounding spaces are trimmed',
  examples: ['Calculus'],
});
const CsrfField = Type.Optional(
  Type.String({
    description: 'CSRF token of a form post (fetch sends x-csrf-token; bearer requests need none)',
  }),
);
const CourseForm = Type.Object({ course_title: CourseTitle, _csrf: CsrfField });
const DeleteForm = Type.Union([Type.Object({ _csrf: CsrfField }), Type.Null()]);
const CourseParams = Type.Object({
  id: Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'Course id' }),
});
type CourseForm = Static<typeof CourseForm>;
type CourseParams = Static<typeof CourseParams>;

const errorResponses = (codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, { ...ErrorJson, description: DESCRIPTIONS[code] }]));
const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input',
  401: 'Not signed in',
  403: 'Missing or wrong CSRF token, or a cross-site request',
  404: 'The user has no course with this id',
  409: 'The user already has COURSES_MAX_PER_USER courses',
  413: 'Body too large',
  415: 'Unsupported content type',
};
/** OpenAPI documentation on a route schema (`description`, `tags`; read by @fastify/swagger). */
const documented = <S extends object>(schema: S & { description: string; tags: string[] }) => schema;
const NAVIGATION =
  'A form post without JavaScript (Sec-Fetch-Mode: navigate) is redirected to /protected (303).';

export default async function coursesPlugin(app: FastifyInstance, opts: { config: Config }) {
  const max = opts.config.coursesMaxPerUser;
  const courses = createCourseRepository(app.db, app.dbDialect);
  // Bearer requests need no CSRF token: a page on another site cannot set Authorization, and such
  // a request is authenticated by that header only (readToken).
  const csrfUnlessBearer = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) =>
    request.headers.authorization === undefined ? app.csrfProtection(request, reply, done) : done();
  const guards = { preHandler: [app.requireApiUser, csrfUnlessBearer] };
  /** The partial the page renders for one course, off any request (so without a CSRF field). */
  const renderItem = async (course: Course) =>
    (await app.view('partials/course-item.njk', { course })).trim();
  /** A plain form post (no JavaScript) gets the page back; fetch callers get JSON. */
  const isNavigation = (request: FastifyRequest) => request.headers['sec-fetch-mode'] === 'navigate';

  app.get('/protected', { preHandler: app.requirePageUser }, async (request, reply) => {
    const user = currentUser(request);
    // The stream resumes from the id current *before* the page's data is read: an update
    // published while the page renders is then replayed (at worst applied twice), never lost.
    const lastEventId = await app.events.latestId();
    return reply.view('protected.njk', { courses: await courses.listForUser(user.id), lastEventId });
  });

  app.post<{ Body: CourseForm }>(
    '/add_course',
    {
      schema: documented({
        description: `Adds a course and appends it to the list on every open page of the user. ${NAVIGATION}`,
        tags: ['courses'],
        body: CourseForm,
        response: { 201: CourseJson, ...errorResponses([400, 401, 403, 409, 413, 415]) },
      }),
      ...guards,
    },
    async (request, reply) => {
      const user = currentUser(request);
      const course = await app.events.transaction(async (trx, publish) => {
        const added = await createCourseRepository(trx, app.dbDialect).add(
          user.id,
          request.body.course_title.trim(),
          max,
        );
        if (!added) throw new CourseLimitError(max);
        const message: SseMessage = {
          html: { [COURSE_LIST_ID]: { content: await renderItem(added), swap: 'append' } },
        };
        await publish(user.username, message);
        return added;
      });
      if (isNavigation(request)) return reply.redirect('/protected', 303);
      return reply.code(201).send({ id: course.id, title: course.title });
    },
  );

  app.post<{ Body: CourseForm; Params: CourseParams }>(
    '/courses/:id/rename',
    {
      schema: documented({
        description: `Renames one of the user's courses and replaces it on every open page. ${NAVIGATION}`,
        tags: ['courses'],
        params: CourseParams,
        body: CourseForm,
        response: { 200: CourseJson, ...errorResponses([400, 401, 403, 404, 413, 415]) },
      }),
      ...guards,
    },
    async (request, reply) => {
      const user = currentUser(request);
      const id = Number(request.params.id);
      const course = await app.events.transaction(async (trx, publish) => {
        const renamed = await createCourseRepository(trx, app.dbDialect).rename(
          user.id,
          id,
          request.body.course_title.trim(),
        );
        if (!renamed) throw new CourseNotFoundError();
        // A plain fragment whose root has the target's tag: SSEXI.js (and the original library)
        // replaces the item's attributes and children with it.
        await publish(user.username, { html: { [courseItemId(id)]: await renderItem(renamed) } });
        return renamed;
      });
      if (isNavigation(request)) return reply.redirect('/protected', 303);
      return { id: course.id, title: course.title };
    },
  );

  app.post<{ Params: CourseParams }>(
    '/courses/:id/delete',
    {
      schema: documented({
        description: `Deletes one of the user's courses and removes it from every open page. ${NAVIGATION}`,
        tags: ['courses'],
        params: CourseParams,
        body: DeleteForm,
        response: {
          200: Type.Object({ id: Type.Integer({ minimum: 1 }) }, { examples: [{ id: 7 }] }),
          ...errorResponses([400, 401, 403, 404, 413, 415]),
        },
      }),
      ...guards,
    },
    async (request, reply) => {
      const user = currentUser(request);
      const id = Number(request.params.id);
      await app.events.transaction(async (trx, publish) => {
        if (!(await createCourseRepository(trx, app.dbDialect).remove(user.id, id)))
          throw new CourseNotFoundError();
        await publish(user.username, { html: { [courseItemId(id)]: { swap: 'remove' } } });
      });
      if (isNavigation(request)) return reply.redirect('/protected', 303);
      return { id };
    },
  );
}
