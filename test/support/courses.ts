/**
 * Reading courses back out of what the server sends: the protected page's list, and the SSEXI
 * messages pushed for each change. Titles come back unescaped (the page escapes them).
 */

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

/** What one pushed message (an event's `data`) says changed; throws for anything else. */
export function changeIn(data: string): PushedChange {
  const message = JSON.parse(data) as { html?: Record<string, string | { content?: string; swap?: string }> };
  const entries = Object.entries(message.html ?? {});
  if (entries.length !== 1) throw new Error(`expected one change: ${data}`);
  const [target = '', value] = entries[0] ?? [];
  if (target === 'course-list' && typeof value === 'object' && value.swap === 'append') {
    const [course] = coursesIn(value.content ?? '');
    if (course) return { kind: 'added', course };
  }
  const id = Number(/^course-(\d+)$/.exec(target)?.[1]);
  if (typeof value === 'string') {
    const [course] = coursesIn(value);
    if (course && course.id === id) return { kind: 'renamed', course };
  }
  if (typeof value === 'object' && value.swap === 'remove' && Number.isInteger(id))
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
