/**
 * Route schemas of the accounts feature: request validation, response serialisation and the
 * OpenAPI description in one definition each (every JSON answer, errors included, is declared).
 */
import { type Static, Type } from '@sinclair/typebox';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.ts';
import { errorResponse, noContent, SIGNED_IN } from '../web/schemas.ts';

const TAGS = ['accounts'];

/** The `{error}` answers these routes give, each described and with a typical message. */
const ERRORS: Record<number, [description: string, example: string]> = {
  400: ['Invalid input, naming the rule broken', 'Password must be at least 8 characters long.'],
  401: ['Not signed in', 'Not authenticated'],
  403: [
    'Wrong password, or (cookie callers) a missing CSRF token or a cross-site request',
    'The current password is not correct.',
  ],
  404: ['Not found (another user’s id answers the same)', 'No such session'],
  409: ['Conflict: the name or address is taken', 'This username is taken.'],
  429: ['Too many attempts (see Retry-After)', 'Too many attempts. Try again in 60 seconds.'],
  503: [
    'The event log (Redis) is away: nothing was deleted; retry after Retry-After',
    'Service temporarily unavailable; try again shortly',
  ],
};
const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => {
      const [description, example] = ERRORS[status] ?? ['Refused', 'Refused'];
      return [status, errorResponse(description, example)];
    }),
  );
const done = noContent('Done; no body');

const password = (description: string) => Type.String({ maxLength: MAX_PASSWORD_LENGTH, description });
const Email = Type.String({ format: 'email', maxLength: 254, description: 'An email address' });
const Csrf = Type.Optional(Type.String({ maxLength: 256 }));

export const TokenAnswer = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT (HS256; sub, exp, iat, jti)' }),
    token_type: Type.Literal('bearer'),
    username: Type.String(),
  },
  {
    description: 'Signed up and signed in',
    examples: [{ access_token: 'eyJhbGciOiJIUzI1NiJ9.…', token_type: 'bearer', username: 'alice' }],
  },
);

export const RegisterBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64, description: 'Letters, digits, ".", "_" or "-"' }),
    password: password('The new password (PASSWORD_MIN_LENGTH characters or more, not a common one)'),
    email: Type.Optional(Email),
  },
  { examples: [{ username: 'alice', password: 'correct horse battery', email: 'alice@example.com' }] },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const registerSchema = {
  summary: 'Sign up (API)',
  description:
    'Creates an account and signs it in; a given email gets a verification link. Registered only when ALLOW_REGISTRATION is true: otherwise the route does not exist (404, and absent from this document).',
  tags: TAGS,
  body: RegisterBody,
  response: { 201: TokenAnswer, ...errors(400, 409, 429) },
};

export const RegisterForm = Type.Object({
  username: Type.String({ maxLength: 150 }),
  password: password('password'),
  password_confirm: password('password, again'),
  email: Type.Optional(Type.String({ maxLength: 254 })),
  _csrf: Csrf,
});
export type RegisterForm = Static<typeof RegisterForm>;

export const SessionItem = Type.Object({
  id: Type.String({ description: 'The session id (its tokens’ jti)' }),
  created_at: Type.Integer({ description: 'Unix seconds' }),
  last_seen_at: Type.Integer({ description: 'Unix seconds (updated at most once a minute)' }),
  expires_at: Type.Integer({ description: 'Unix seconds; slides while the session is used' }),
  user_agent: Type.String(),
  ip: Type.String(),
  current: Type.Boolean({ description: 'The session making this request' }),
});
export const listSessionsSchema = {
  summary: 'List your sessions',
  description: "The caller's active sessions, most recently used first.",
  tags: TAGS,
  security: SIGNED_IN,
  response: {
    200: Type.Array(SessionItem, {
      description: 'The sessions',
      examples: [
        [
          {
            id: '0b6f…',
            created_at: 1767225600,
            last_seen_at: 1767229200,
            expires_at: 1767232800,
            user_agent: 'Mozilla/5.0 …',
            ip: '203.0.113.7',
            current: true,
          },
        ],
      ],
    }),
    ...errors(401),
  },
};

export const SessionParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export type SessionParams = Static<typeof SessionParams>;
export const deleteSessionSchema = {
  summary: 'End one of your sessions',
  description:
    "Ends one of the caller's sessions: its tokens stop working and its streams end, on every instance. " +
    "Another user's session id answers 404, as one that does not exist.",
  tags: TAGS,
  security: SIGNED_IN,
  params: SessionParams,
  response: { 204: done, ...errors(401, 403, 404) },
};
export const revokeOthersSchema = {
  summary: 'Log out your other sessions',
  description: "Ends every session of the caller's but the current one.",
  tags: TAGS,
  security: SIGNED_IN,
  response: {
    200: Type.Object(
      { ended: Type.Integer({ description: 'How many sessions ended' }) },
      { description: 'Done', examples: [{ ended: 2 }] },
    ),
    ...errors(401, 403),
  },
};

export const PasswordChangeBody = Type.Object(
  {
    current_password: password('The password now'),
    new_password: password('The new password'),
  },
  { examples: [{ current_password: 'correct horse battery', new_password: 'a much longer passphrase' }] },
);
export type PasswordChangeBody = Static<typeof PasswordChangeBody>;
export const passwordChangeSchema = {
  summary: 'Change your password',
  description:
    "Changes the caller's password; every other session ends, the caller stays signed in. Wrong " +
    'current passwords count towards the login throttle.',
  tags: TAGS,
  security: SIGNED_IN,
  body: PasswordChangeBody,
  response: { 204: done, ...errors(400, 401, 403, 429) },
};

export const EmailBody = Type.Object({ email: Email }, { examples: [{ email: 'alice@example.com' }] });
export type EmailBody = Static<typeof EmailBody>;
export const setEmailSchema = {
  summary: 'Set your email address',
  description:
    "Sets the caller's email address (unverified) and mails it a verification link. The address the account has already verified changes nothing and sends nothing (200).",
  tags: TAGS,
  security: SIGNED_IN,
  body: EmailBody,
  response: {
    200: Type.Object(
      { email: Type.String(), email_verified: Type.Boolean() },
      {
        description: 'Already the verified address of this account: nothing changed, nothing sent',
        examples: [{ email: 'alice@example.com', email_verified: true }],
      },
    ),
    202: Type.Object(
      { email: Type.String(), email_verified: Type.Boolean() },
      {
        description: 'Stored; the link is on its way',
        examples: [{ email: 'alice@example.com', email_verified: false }],
      },
    ),
    ...errors(400, 401, 403, 429),
  },
};

export const TokenBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 128, description: 'The token from the mailed link' }) },
  { examples: [{ token: 'Hc1…' }] },
);
export type TokenBody = Static<typeof TokenBody>;
export const verifyEmailSchema = {
  summary: 'Verify an email address',
  description: 'Uses an email verification link (single use, EMAIL_VERIFICATION_HOURS); no sign-in needed.',
  tags: TAGS,
  body: TokenBody,
  response: { 204: noContent('Verified'), ...errors(400, 409) },
};

export const DeleteAccountBody = Type.Object(
  { password: password('The account password') },
  { examples: [{ password: 'correct horse battery' }] },
);
export type DeleteAccountBody = Static<typeof DeleteAccountBody>;
export const deleteAccountSchema = {
  summary: 'Delete your account',
  description:
    "Deletes the caller's account, courses and sessions, and its messages in the event log (a new account of the same name replays none of them); its streams end.",
  tags: TAGS,
  security: SIGNED_IN,
  body: DeleteAccountBody,
  response: { 204: noContent('Deleted'), ...errors(400, 401, 403, 429, 503) },
};

export const activitySchema = {
  summary: 'Your security activity',
  description: "The caller's newest security activity (up to 20), newest first.",
  tags: TAGS,
  security: SIGNED_IN,
  response: {
    200: Type.Array(
      Type.Object({
        kind: Type.String({
          description:
            'sign-in, sign-in-failed, password-changed, password-reset, session-revoked, email-verified, reset-requested',
        }),
        created_at: Type.Integer({ description: 'Unix seconds' }),
        ip: Type.String(),
        user_agent: Type.String(),
      }),
      {
        description: 'The entries',
        examples: [
          [{ kind: 'sign-in', created_at: 1767225600, ip: '203.0.113.7', user_agent: 'Mozilla/5.0 …' }],
        ],
      },
    ),
    ...errors(401),
  },
};

export const RESET_ACCEPTED = {
  message: 'If an account has this verified address, a link to reset its password is on its way.',
};
export const resetRequestSchema = {
  summary: 'Ask for a password-reset link',
  description:
    'Asks for a password-reset link. The answer is the same whether or not an account has this verified address.',
  tags: TAGS,
  body: EmailBody,
  response: {
    202: Type.Object(
      { message: Type.String() },
      { description: 'Accepted (the same answer for every address)', examples: [RESET_ACCEPTED] },
    ),
    ...errors(400, 429),
  },
};

export const ResetConfirmBody = Type.Object(
  { token: TokenBody.properties.token, new_password: password('The new password') },
  { examples: [{ token: 'Hc1…', new_password: 'a much longer passphrase' }] },
);
export type ResetConfirmBody = Static<typeof ResetConfirmBody>;
export const resetConfirmSchema = {
  summary: 'Set a new password with a reset link',
  description:
    'Uses a reset link (single use, PASSWORD_RESET_MINUTES): sets the password and ends every session.',
  tags: TAGS,
  body: ResetConfirmBody,
  response: { 204: noContent('Password set; every session ended'), ...errors(400) },
};
