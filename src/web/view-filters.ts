/**
 * Filters the views use. `htmlAttrs` renders a component's extra attributes: it was a macro, but
 * components call it for every input, button and list, and a Nunjucks macro call costs frames and
 * argument handling even for an empty dict; a filter is a plain function call.
 */
import nunjucks from 'nunjucks';
import { escapeHtml } from '../events/messages.ts';

/**
 * `{{ attrs | htmlAttrs }}`: extra HTML attributes from a dict, each with a leading space — true
 * gives a bare attribute, false, null and undefined leave it out, anything else is `name="value"`,
 * escaped (autoescape does not reach inside a filter's safe result).
 */
export function htmlAttrs(extra: Record<string, unknown> | null | undefined): nunjucks.runtime.SafeString {
  let out = '';
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (value === true) out += ` ${escapeHtml(name)}`;
    else if (value !== false && value !== null && value !== undefined)
      out += ` ${escapeHtml(name)}="${escapeHtml(String(value))}"`;
  }
  return new nunjucks.runtime.SafeString(out);
}
