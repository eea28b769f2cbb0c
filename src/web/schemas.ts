/**
 * Building blocks of route schemas, so every route documents its answers the same way: JSON
 * errors are `{error}` (src/web/errors.ts), pages are HTML, redirects have no body. Routes use them
 * in `schema.response`; @fastify/swagger turns them into the OpenAPI document (src/web/api-docs.ts)
 * and Fastify serialises JSON answers with them.
 */
import { type TSchema, Type } from '@sinclair/typebox';

/** Request bodies every form route accepts (src/web/forms.ts). */
export const FORM_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

/** Credentials a signed-in route accepts: the session cookie or a bearer token. */
export const SIGNED_IN: { [scheme: string]: string[] }[] = [{ cookieAuth: [] }, { bearerAuth: [] }];

/** `{error}`: what every JSON refusal looks like. */
export function errorResponse(description: string, example: string): TSchema {
  return Type.Object(
    { error: Type.String({ description: 'What went wrong, safe to show to the user', examples: [example] }) },
    { description },
  );
}

/** An HTML page answer. */
export function htmlPage(description: string) {
  return { description, content: { 'text/html': { schema: { type: 'string' } } } };
}

/** A redirect (the target is in `Location`); no body. */
export function redirect(description: string) {
  return {
    description,
    type: 'null',
    headers: { location: { type: 'string', description: 'Where to go next' } },
  };
}

/** No body (204). */
export function noContent(description: string) {
  return { description, type: 'null' };
}

/** A body that does not fit the route's schema (the error handler's answer). */
export const badInput = errorResponse(
  'Malformed body or fields',
  'Invalid request: body/username must be string',
);

/** A cookie-authenticated change without its CSRF token, or from another site (src/web/forms.ts). */
export const csrfRefused = errorResponse(
  'Missing or wrong CSRF token, or a cross-site request',
  'Invalid csrf token',
);

/**
 * An answer of a form route that is a page for a form navigation (the form again, with its
 * errors) and `{error}` JSON for a fetch (`sx-post`) or a body that does not fit the schema.
 */
export function pageOrError(description: string, example: string) {
  return {
    description,
    content: {
      'text/html': { schema: { type: 'string' } },
      'application/json': { schema: errorResponse(description, example) },
    },
  };
}
