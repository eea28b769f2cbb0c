/** Reading the app's HTML in tests without depending on its classes and wrappers more than needed. */

/** The titles of the course items (partials/course-item.njk) in a page or a pushed fragment, as HTML. */
export function courseTitles(html: string): string[] {
  return [...html.matchAll(/<li id="course-\d+"[^>]*>\s*<span class="list-item-title">([^<]*)<\/span>/g)].map(
    (match) => match[1] ?? '',
  );
}

/** The course titles of one pushed SSEXI message (`data:` of an event), in the order they arrive. */
export function pushedCourseTitles(data: string): string[] {
  const message = JSON.parse(data) as { html?: Record<string, string | { content?: string }> };
  return Object.values(message.html ?? {}).flatMap((value) =>
    courseTitles(typeof value === 'string' ? value : (value.content ?? '')),
  );
}
