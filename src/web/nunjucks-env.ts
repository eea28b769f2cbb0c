/**
 * Macro imports run once. Nunjucks runs a whole template each time one is imported — every
 * `{% from "components/field.njk" import field %}` of every render, and of every `include` in a
 * loop — only to collect macros that come out the same every time. A template imported without
 * `with context` (nunjucks' default) is run against an empty context: its macros see their
 * arguments, the template's own top level and the environment's globals (looked up when a macro
 * runs, not when it is made), never the importer's variables. So its exports can be computed once
 * and shared by every later import: the same macros, called the same way.
 *
 * The memo hangs on the compiled Template object nunjucks hands out, not on the template's name,
 * so it lives exactly as long as that compiled template: a loader with `noCache` (DEBUG) builds a
 * fresh Template from the file at each lookup, so an edited component shows on the next request,
 * and a watching loader that drops an edited template drops its exports with it. An import
 * `with context` runs against the importer's variables, so it is never memoised.
 */
import type { Environment, Template } from 'nunjucks';

type Exports = Record<string, unknown>;
type ExportsCallback = (error: Error | null, exported: Exports | null) => void;
/** `Template.getExported` as nunjucks' compiled code calls it: `(cb)`, or `(context, frame, cb)`. */
type GetExported = (this: Template, ...args: unknown[]) => void;
type GetTemplate = (this: Environment, ...args: unknown[]) => Template | undefined;

/** Makes `env` run each context-free imported template once per compiled template. */
export function memoiseImports(env: Environment): void {
  const getTemplate = env.getTemplate as unknown as GetTemplate;
  // Nunjucks takes the callback in any of three positions: the first function argument is it.
  const memoisingGetTemplate: GetTemplate = function (...args) {
    const at = args.findIndex((arg) => typeof arg === 'function');
    if (at === -1) return withMemo(getTemplate.apply(this, args));
    const callback = args[at] as (error: Error | null, template?: Template) => void;
    args[at] = (error: Error | null, template?: Template) => callback(error, withMemo(template));
    return getTemplate.apply(this, args);
  };
  Object.assign(env, { getTemplate: memoisingGetTemplate });
}

function withMemo(template: Template | undefined): Template | undefined {
  if (template === undefined || Object.hasOwn(template, 'getExported')) return template;
  const getExported = (template as unknown as { getExported: GetExported }).getExported;
  let exported: Exports | null = null;
  const memoised: GetExported = function (...args) {
    const [callback] = args;
    // With context: `(context, frame, callback)`, against the importer's variables.
    if (args.length !== 1 || typeof callback !== 'function') return getExported.apply(this, args);
    const done = callback as ExportsCallback;
    if (exported !== null) return done(null, exported);
    getExported.call(this, (error: Error | null, result: Exports | null) => {
      if (!error) exported = result;
      done(error, result);
    });
  };
  Object.defineProperty(template, 'getExported', { value: memoised });
  return template;
}
