/**
 * Route schemas of the accounts pages and their forms (tag `pages`). A form answers a navigation
 * with a redirect or the page again (its errors at their fields) and a fetch (`sx-post`) with 204
 * or `{error}`; request bodies accept both form encodings. The request schemas stay beside their
 * routes; this file says what the answers are, for Fastify and for the OpenAPI document.
 */
import {
  csrfRefused,
  errorResponse,
  FORM_CONTENT_TYPES,
  htmlPage,
  noContent,
  pageOrError,
  redirect,
  SIGNED_IN,
} from '../web/schemas.ts';

const page = { tags: ['pages'] };
const form = { tags: ['pages'], consumes: FORM_CONTENT_TYPES };
const accountForm = { ...form, security: SIGNED_IN };
/** What every form on the account page may answer besides its own outcomes. */
const accountFormAnswers = {
  204: noContent('A fetch (sx-post): done'),
  302: redirect('Anonymous: to /login'),
  403: csrfRefused,
};
const throttledPage = (what: string) =>
  pageOrError(`Too many ${what} (see Retry-After)`, 'Too many attempts. Try again in 60 seconds.');

export const registerPageSchema = {
  ...page,
  summary: 'The sign-up form',
  description: 'Only when ALLOW_REGISTRATION is true (otherwise 404).',
  response: { 200: htmlPage('The form'), 302: redirect('Already signed in: to /protected') },
};
export const registerFormSchema = {
  ...form,
  summary: 'Sign up with the form',
  description: 'Creates the account, signs it in (cookie) and goes to the live page.',
  response: {
    303: redirect('Signed up and in: to /protected'),
    400: pageOrError('The form again, one message per field (passwords not kept)', 'Invalid request'),
    403: csrfRefused,
    429: throttledPage('sign-ups from this address'),
  },
};

export const accountPageSchema = {
  ...page,
  summary: 'The account page',
  description:
    'Profile, password change, the sessions list and security activity (live over ' +
    '`GET /protected/events/{username}?topic=account`), account deletion.',
  security: SIGNED_IN,
  response: { 200: htmlPage('The page'), 302: redirect('Anonymous: to /login?next=/account') },
};
export const passwordFormSchema = {
  ...accountForm,
  summary: 'Change your password (form)',
  description: 'Every other session ends; this one stays signed in.',
  response: {
    ...accountFormAnswers,
    303: redirect('Changed: to /account with a notice'),
    400: pageOrError(
      'A navigation: the page again with the error at its field; a fetch: the new password is refused',
      'The new passwords do not match.',
    ),
    403: errorResponse(
      'A fetch with the wrong current password, or a missing CSRF token / a cross-site request',
      'The current password is not correct.',
    ),
    429: throttledPage('wrong passwords'),
  },
};
export const emailFormSchema = {
  ...accountForm,
  summary: 'Set your email address (form)',
  description:
    'Stores the address (unverified) and mails it a confirmation link; the address the account has already verified changes nothing and sends nothing.',
  response: {
    ...accountFormAnswers,
    303: redirect(
      'To /account with a notice: link sent (email-sent), or already verified, nothing sent (email-verified)',
    ),
    400: pageOrError('The page again with the error at the field', 'This is not an email address.'),
    429: throttledPage('mails to this account'),
  },
};
export const revokeFormSchema = {
  ...accountForm,
  summary: 'End one of your sessions (form)',
  description: "The list on every open account page loses the row; that session's pages go to /login.",
  response: {
    ...accountFormAnswers,
    303: redirect('Ended: to /account with a notice'),
    404: errorResponse("No such session of the caller's (another user's id included)", 'No such session'),
  },
};
export const revokeOthersFormSchema = {
  ...accountForm,
  summary: 'Log out your other sessions (form)',
  response: { ...accountFormAnswers, 303: redirect('Done: to /account with a notice') },
};
export const deleteFormSchema = {
  ...accountForm,
  summary: 'Delete your account (form)',
  description: 'Removes the account, its courses and sessions; its streams end.',
  response: {
    ...accountFormAnswers,
    303: redirect('Deleted: to /login'),
    400: pageOrError(
      'A navigation with the wrong password: the page again, the error at the field',
      'Invalid request',
    ),
    403: errorResponse(
      'A fetch with the wrong password, or a missing CSRF token / a cross-site request',
      'The current password is not correct.',
    ),
    429: throttledPage('wrong passwords'),
  },
};

export const verifyPageSchema = {
  ...page,
  summary: 'The mailed email-confirmation link',
  description: 'A page with a button: opening the link (a mail scanner, say) confirms nothing.',
  response: { 200: htmlPage('The page (or, without a token, that the link is invalid)') },
};
export const verifyFormSchema = {
  ...form,
  summary: 'Confirm the email address',
  response: {
    200: htmlPage('Verified'),
    400: pageOrError('The link is invalid, used or expired', 'This link is invalid, used or expired.'),
    403: csrfRefused,
    409: htmlPage('The address is already verified on another account'),
  },
};

export const forgotPageSchema = {
  ...page,
  summary: 'The forgot-password form',
  response: { 200: htmlPage('The form') },
};
export const forgotFormSchema = {
  ...form,
  summary: 'Ask for a password-reset link (form)',
  description: 'The same page whether or not an account has the address; mail only when one has.',
  response: {
    200: htmlPage('Accepted: the form again, saying a link is on its way if the address is known'),
    400: pageOrError('The form again with the error at the field', 'This is not an email address.'),
    403: csrfRefused,
    429: throttledPage('requests for this address'),
  },
};

export const resetPageSchema = {
  ...page,
  summary: 'The mailed password-reset link',
  response: {
    200: htmlPage('The new-password form'),
    400: htmlPage('The link is invalid, used or expired'),
  },
};
export const resetFormSchema = {
  ...form,
  summary: 'Set a new password with a reset link (form)',
  description: 'Every session of the account ends.',
  response: {
    303: redirect('Set: to /login?reset=1'),
    400: pageOrError('The form again with the error at its field, or an invalid link', 'Invalid request'),
    403: csrfRefused,
  },
};
