/**
 * The demo feature: a per-user course list that updates live in every open tab.
 *
 * Every change is stored and announced together or not at all (`app.events.transaction`), and
 * announces only what changed — the added item, the new title, the removed id — rendered by
 * the same partial the page uses, so a push and a reload never disagree and a long list costs
 * each push nothing. (Pushing the whole list on every add let one account store quadratic bytes.)
 * One account holds at most COURSES_MAX_PER_USER courses. Another user's course id is a 404, as
 * if it did not exist.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { currentUser } from '../auth/plugin.ts';
import { describeRule } from '../client/ui/field-rules.ts';
import type { Config } from '../config.ts';
import type { SseMessage } from '../events/messages.ts';
import { isNavigation } from '../web/forms.ts';
import { errorResponse, FORM_CONTENT_TYPES, htmlPage, redirect, SIGNED_IN } from '../web/schemas.ts';
import { CourseLimitError, CourseNotFoundError } from './errors.ts';
import { type Course, createCourseRepository, MAX_COURSE_TITLE_LENGTH } from './repository.ts';

/** The id of the list on the protected page; an add appends to it. */
export const COURSE_LIST_ID = 'course-list';
/** The id of one course's item; a delete removes it. */
export const courseItemId = (id: number) => `course-${id}`;

const CourseTitle = Type.String({
  minLength: 1,
  maxLength: MAX_COURSE_TITLE_LENGTH,
  pattern: '\\S',
  description: 'Surrounding spaces are trimmed',
  examples: ['Linear Algebra'],
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

const courseBody = (description: string) =>
  Type.Object(
    { id: Type.Integer({ minimum: 1 }), title: Type.String() },
    { description, examples: [{ id: 7, title: 'Linear Algebra' }] },
  );
const BAD_TITLE = 'Invalid request: body/course_title must NOT have fewer than 1 characters';
/** The refusals every course change shares. */
const courseErrors = {
  400: errorResponse('A bad id', 'Invalid request: params/id must match pattern "^[1-9][0-9]{0,14}$"'),
  401: errorResponse('No valid credential', 'Not authenticated'),
  403: errorResponse(
    'Missing or wrong CSRF token (cookie callers), or a cross-site request',
    'Invalid csrf token',
  ),
  413: errorResponse('Body too large', 'Request body is too large'),
  415: errorResponse('Unsupported content type', 'Unsupported Media Type'),
};
const notFound = errorResponse('The user has no course with this id', 'No such course');
/** Where a form post without JavaScript (Sec-Fetch-Mode: navigate) is sent. */
const backToPage = redirect('A form navigation (no JavaScript): back to /protected');
/** What every course change takes: form encodings or JSON, a signed-in caller. */
const change = {
  tags: ['courses'],
  consumes: [...FORM_CONTENT_TYPES, 'application/json'],
  security: SIGNED_IN,
};
/** A title refused: JSON for fetch and API callers; a form navigation gets the page again. */
const titleRefused = (description: string, example: string) => ({
  description: `${description}; a form navigation gets the page again, the error at the title field`,
  content: {
    'application/json': { schema: errorResponse(description, example) },
    'text/html': { schema: { type: 'string' } },
  },
});

/** What a route with `attachValidation` finds in `request.validationError`. */
type ValidationError = NonNullable<FastifyRequest['validationError']>;

/** A form navigation (no JavaScript) refused for its title: the page shows it at that field. */
interface TitleError {
  /** The course whose rename field it is; null for the add field. */
  courseId: number | null;
  message: string;
  /** What was sent, so the field keeps it. */
  value: string;
}

/**
 * The message for a form's title field when the schema refused only that (`Course title cannot be
 * blank.`), or null for anything else, which is answered as any validation error is.
 */
function titleMessage(error: ValidationError, label: string): string | null {
  const [first] = (error.validation ?? []) as FastifySchemaValidationError[];
  if (error.validationContext !== 'body' || !first) return null;
  const title =
    first.instancePath === '/course_title' ||
    (first.keyword === 'required' && first.params.missingProperty === 'course_title');
  return title ? `${label} ${describeRule(first.message ?? '')}` : null;
}

export default async function coursesPlugin(app: FastifyInstance, opts: { config: Config }) {
  const max = opts.config.coursesMaxPerUser;
  const courses = createCourseRepository(app.db, app.dbDialect);
  // app.csrfProtection lets bearer requests through (src/web/forms.ts): cookie callers need the token.
  const guards = { preHandler: [app.requireApiUser, app.csrfProtection] };
  /** A partial of the page for one course, off any request (so without a CSRF field). */
  const render = async (partial: string, course: Course) =>
    (await app.view(`partials/${partial}.njk`, { course })).trim();
  /** A form navigation gets the page back; fetch and API callers get JSON. */
  const answer = <T>(request: FastifyRequest, reply: FastifyReply, status: number, body: T) =>
    isNavigation(request) ? reply.redirect('/protected', 303) : reply.code(status).send(body);
  const showPage = async (reply: FastifyReply, userId: number, titleError: TitleError | null = null) =>
    reply.view('protected.njk', { courses: await courses.listForUser(userId), titleError });
  /**
   * The schema's refusal of a course form (routes validate with `attachValidation`, so a form
   * navigation can get its page back): the page with the error at the title field, or the error
   * thrown, answered as usual (400 `{error}`), for fetch and API callers and for anything else.
   */
  const refuse = (
    request: FastifyRequest<{ Body: CourseForm }>,
    reply: FastifyReply,
    error: ValidationError,
    courseId: number | null,
  ) => {
    const message = isNavigation(request)
      ? titleMessage(error, courseId ? 'New title' : 'Course title')
      : null;
    if (message === null) throw error;
    const sent = (request.body as { course_title?: unknown } | null)?.course_title;
    const value = typeof sent === 'string' ? sent : '';
    return showPage(reply.code(400), currentUser(request).id, { courseId, message, value });
  };

  app.get(
    '/protected',
    {
      schema: {
        summary: 'The live page',
        description: 'Greeting, course form and list; connected to the user’s event stream.',
        tags: ['pages'],
        security: SIGNED_IN,
        response: { 200: htmlPage('The page'), 302: redirect('Anonymous: to /login?next=/protected') },
      },
      preHandler: app.requirePageUser,
    },
    async (request, reply) => {
      // `lastEventId` comes with every view (src/events/view-locals.ts), read before this
      // handler runs: an update published while the page renders is replayed, never lost.
      return showPage(reply, currentUser(request).id);
    },
  );

  app.post<{ Body: CourseForm }>(
    '/add_course',
    {
      schema: {
        ...change,
        summary: 'Add a course',
        description: 'Stores the course and appends it to the list on every open page of the user.',
        body: CourseForm,
        response: {
          201: courseBody('Added'),
          303: backToPage,
          ...courseErrors,
          400: titleRefused('A missing, blank or too long title', BAD_TITLE),
          409: titleRefused(
            'The user already has COURSES_MAX_PER_USER courses',
            'You already have 500 courses, the most one account may have',
          ),
        },
      },
      attachValidation: true,
      ...guards,
    },
    async (request, reply) => {
      if (request.validationError) return refuse(request, reply, request.validationError, null);
      const user = currentUser(request);
      const course = await app.events
        .transaction(async (trx, publish) => {
          const added = await createCourseRepository(trx, app.dbDialect).add(
            user.id,
            request.body.course_title.trim(),
            max,
          );
          if (!added) throw new CourseLimitError(max);
          const message: SseMessage = {
            html: { [COURSE_LIST_ID]: { content: await render('course-item', added), swap: 'append' } },
          };
          await publish(user.username, message);
          return added;
        })
        .catch((error: unknown) => {
          if (!(error instanceof CourseLimitError && isNavigation(request))) throw error;
          return null;
        });
      if (course === null) {
        const value = request.body.course_title;
        return showPage(reply.code(409), user.id, {
          courseId: null,
          message: new CourseLimitError(max).message,
          value,
        });
      }
      return answer(request, reply, 201, { id: course.id, title: course.title });
    },
  );

  app.post<{ Body: CourseForm; Params: CourseParams }>(
    '/courses/:id/rename',
    {
      schema: {
        ...change,
        summary: 'Rename a course',
        description: "Renames one of the user's courses and updates its title on every open page.",
        params: CourseParams,
        body: CourseForm,
        response: {
          200: courseBody('Renamed'),
          303: backToPage,
          ...courseErrors,
          400: titleRefused('A missing, blank or too long title, or a bad id', BAD_TITLE),
          404: notFound,
        },
      },
      attachValidation: true,
      ...guards,
    },
    async (request, reply) => {
      const id = Number(request.params.id);
      if (request.validationError)
        return refuse(
          request,
          reply,
          request.validationError,
          Number.isSafeInteger(id) && id > 0 ? id : null,
        );
      const user = currentUser(request);
      const course = await app.events.transaction(async (trx, publish) => {
        const renamed = await createCourseRepository(trx, app.dbDialect).rename(
          user.id,
          id,
          request.body.course_title.trim(),
        );
        if (!renamed) throw new CourseNotFoundError();
        // Only what a rename changes: the title, and the rename field's value. Plain fragments
        // whose root has the target's tag, so SSEXI.js and the original library both apply
        // them; the item's forms (and their CSRF fields) are left as the page rendered them.
        const item = courseItemId(id);
        await publish(user.username, {
          html: {
            [`${item}-name`]: await render('course-title', renamed),
            [`${item}-title`]: await render('course-title-input', renamed),
          },
        });
        return renamed;
      });
      return answer(request, reply, 200, { id: course.id, title: course.title });
    },
  );

  app.post<{ Params: CourseParams }>(
    '/courses/:id/delete',
    {
      schema: {
        ...change,
        summary: 'Delete a course',
        description: "Deletes one of the user's courses and removes it from every open page.",
        params: CourseParams,
        body: DeleteForm,
        response: {
          200: Type.Object(
            { id: Type.Integer({ minimum: 1 }) },
            { description: 'Deleted', examples: [{ id: 7 }] },
          ),
          303: backToPage,
          ...courseErrors,
          404: notFound,
        },
      },
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
      return answer(request, reply, 200, { id });
    },
  );
}
