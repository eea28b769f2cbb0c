/**
 * Reading courses back out of what the server sends: the protected page's list, and the SSEXI
 * messages pushed for each change. Titles come back unescaped (the page escapes them).
 */
import type { FastifyInstance } from 'fastify';

export interface ListedCourse {
  id: number;
  title: string;
}

const unescapeHtml = (html: string) =>
  html
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');

/** The course items in `html` (a page or a fragment), in order: each `<li id="course-N">` and its title. */
export function coursesIn(html: string): ListedCourse[] {
  return [...html.matchAll(/<li id="course-(\d+)"[^>]*>\s*<span[^>]*>([^<]*)<\/span>/g)].map((m) => ({
    id: Number(m[1]),
    title: unescapeHtml(m[2] ?? ''),
  }));
}

/** The titles on a protected page, in order. */
export const titlesIn = (html: string) => coursesIn(html).map((c) => c.title);

export type PushedChange =
  | { kind: 'added'; course: ListedCourse }
  | { kind: 'renamed'; course: ListedCourse }
  | { kind: 'removed'; id: number };

/**
 * What one pushed message (an event's `data`) says changed; throws for anything else. An add
 * appends the item to the list, a rename replaces the item's title (`course-N-name`) and its
 * rename field's input (`course-N-title`), a delete removes the item.
 */
export function changeIn(data: string): PushedChange {
  const message = JSON.parse(data) as { html?: Record<string, string | { content?: string; swap?: string }> };
  const entries = Object.entries(message.html ?? {});
  const [target = '', value] = entries[0] ?? [];
  if (
    entries.length === 1 &&
    target === 'course-list' &&
    typeof value === 'object' &&
    value.swap === 'append'
  ) {
    const [course] = coursesIn(value.content ?? '');
    if (course) return { kind: 'added', course };
  }
  const renamed = /^course-(\d+)-name$/.exec(target);
  if (renamed && entries.length === 2 && typeof value === 'string') {
    const id = Number(renamed[1]);
    const title = /^<span class="list-item-title" id="course-\d+-name">([^<]*)<\/span>$/.exec(value)?.[1];
    const [inputTarget, input] = entries[1] ?? [];
    const inputValue =
      typeof input === 'string' ? /^<input [^>]*\bvalue="([^"]*)"/.exec(input)?.[1] : undefined;
    if (title !== undefined && inputTarget === `course-${id}-title` && inputValue === title)
      return { kind: 'renamed', course: { id, title: unescapeHtml(title) } };
  }
  const id = Number(/^course-(\d+)$/.exec(target)?.[1]);
  if (entries.length === 1 && typeof value === 'object' && value.swap === 'remove' && Number.isInteger(id))
    return { kind: 'removed', id };
  throw new Error(`not a course change: ${data}`);
}

/**
 * Adds courses the way the page does (cookie, CSRF token in `x-csrf-token`, urlencoded), one
 * token for all of them.
 */
export async function courseAdder(browser: {
  base: string;
  csrfToken(path: string): Promise<string>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}): Promise<(title: string) => Promise<Response>> {
  const token = await browser.csrfToken('/protected');
  return (title) =>
    browser.fetch('/add_course', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-csrf-token': token,
        origin: browser.base,
      },
      body: new URLSearchParams({ course_title: title }),
    });
}

/** Runs `change` inside the next render of /protected, as racePageRender describes. */
export type PageRenderRace = (change: () => Promise<unknown>) => void;

/**
 * Lets a test land a render of /protected in the window a live page leaves open on purpose
 * (src/events/view-locals.ts): the page's newest event id is taken, then the change runs to the
 * end (another tab adding a course, say), and only then does the handler read the courses. The
 * page shows the change, and its stream, resuming from that id, replays it. Call before the app
 * listens (startApp's `beforeListen`); each call of the returned function arms the next render.
 */
export function racePageRender(app: FastifyInstance): PageRenderRace {
  let pending: (() => Promise<unknown>) | undefined;
  // Added after the app's own hooks, so it runs after the id is taken and before the handler.
  app.addHook('preHandler', async (request, reply) => {
    const change = pending;
    if (!change || request.routeOptions.url !== '/protected' || request.method !== 'GET') return;
    pending = undefined;
    if (reply.locals.lastEventId === undefined) throw new Error('the page has no id yet: no race to run');
    await change();
  });
  return (change) => {
    pending = change;
  };
}
