import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.ts';
import { clientInfo } from '../auth/plugin.ts';
import type { Config } from '../config.ts';
import { sendFailure } from './http.ts';
import {
  forgotFormSchema,
  forgotPageSchema,
  resetFormSchema,
  resetPageSchema,
  verifyFormSchema,
  verifyPageSchema,
} from './page-schemas.ts';
import {
  type EmailBody,
  RESET_ACCEPTED,
  type ResetConfirmBody,
  resetConfirmSchema,
  resetRequestSchema,
  type TokenBody,
  verifyEmailSchema,
} from './schemas.ts';
import type { AccountService } from './service.ts';

const TokenQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 256 })) });
const Csrf = Type.Optional(Type.String({ maxLength: 256 }));
const TokenForm = Type.Object({ token: Type.String({ maxLength: 256 }), _csrf: Csrf });
const pw = Type.String({ maxLength: MAX_PASSWORD_LENGTH });
const ResetForm = Type.Object({
  token: Type.String({ maxLength: 256 }),
  new_password: pw,
  new_password_confirm: pw,
  _csrf: Csrf,
});
const ForgotForm = Type.Object({ email: Type.String({ maxLength: 254 }), _csrf: Csrf });
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const INVALID_LINK = 'This link is invalid, used or expired.';

/**
 * Email verification and password reset, as pages (the links in the mails) and as JSON. A link
 * only opens a page with a button or a form; the token is used by the POST that sends, so a mail
 * scanner that follows the link changes nothing. Pages that carry a token are not cached and
 * leak no Referer (their token is a credential).
 */
export default async function recoveryRoutes(
  app: FastifyInstance,
  opts: { config: Config; accounts: AccountService },
) {
  const { config, accounts } = opts;
  const tokenPage = (reply: FastifyReply) =>
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');

  app.get<{ Querystring: Static<typeof TokenQuery> }>(
    '/verify-email',
    { schema: { ...verifyPageSchema, querystring: TokenQuery } },
    async (request, reply) => {
      const token = request.query.token ?? '';
      return tokenPage(reply).view('verify-email.njk', {
        token,
        verified: false,
        invalid: token === '' ? INVALID_LINK : null,
      });
    },
  );

  app.post<{ Body: Static<typeof TokenForm> }>(
    '/verify-email',
    { schema: { ...verifyFormSchema, body: TokenForm }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const result = await accounts.verifyEmail(request.body.token, clientInfo(request));
      if (!result.ok)
        return tokenPage(reply.code(result.status)).view('verify-email.njk', { invalid: result.error });
      return tokenPage(reply).view('verify-email.njk', { verified: true });
    },
  );

  app.post<{ Body: TokenBody }>(
    '/api/account/email/verify',
    { schema: verifyEmailSchema },
    async (request, reply) => {
      const result = await accounts.verifyEmail(request.body.token, clientInfo(request));
      return result.ok ? reply.code(204).send() : sendFailure(reply, result);
    },
  );

  const renderForgot = (
    reply: FastifyReply,
    params: { email?: string; sent?: string; error?: string; errors?: { email?: string } },
  ) => reply.view('forgot-password.njk', { email: '', sent: null, error: null, errors: {}, ...params });

  app.get('/forgot-password', { schema: forgotPageSchema }, async (_request, reply) =>
    renderForgot(reply, {}),
  );

  app.post<{ Body: Static<typeof ForgotForm> }>(
    '/forgot-password',
    { schema: { ...forgotFormSchema, body: ForgotForm }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const email = request.body.email.trim();
      if (!EMAIL_PATTERN.test(email))
        return renderForgot(reply.code(400), { email, errors: { email: 'This is not an email address.' } });
      const result = await accounts.requestReset(email, clientInfo(request));
      if (!result.ok) {
        if (result.retryAfter) reply.header('retry-after', String(result.retryAfter));
        return renderForgot(reply.code(result.status), { email, error: result.error });
      }
      return renderForgot(reply, { sent: RESET_ACCEPTED.message });
    },
  );

  app.post<{ Body: EmailBody }>(
    '/api/password-reset',
    { schema: resetRequestSchema },
    async (request, reply) => {
      const result = await accounts.requestReset(request.body.email, clientInfo(request));
      return result.ok ? reply.code(202).send(RESET_ACCEPTED) : sendFailure(reply, result);
    },
  );

  const renderReset = (
    reply: FastifyReply,
    params: { token?: string; invalid?: string | null; errors?: object },
  ) =>
    tokenPage(reply).view('reset-password.njk', {
      token: '',
      invalid: null,
      errors: {},
      minLength: config.passwordMinLength,
      ...params,
    });

  app.get<{ Querystring: Static<typeof TokenQuery> }>(
    '/reset-password',
    { schema: { ...resetPageSchema, querystring: TokenQuery } },
    async (request, reply) => {
      const token = request.query.token ?? '';
      if (token === '' || !(await accounts.resetLinkValid(token)))
        return renderReset(reply.code(400), { invalid: INVALID_LINK });
      return renderReset(reply, { token });
    },
  );

  app.post<{ Body: Static<typeof ResetForm> }>(
    '/reset-password',
    { schema: { ...resetFormSchema, body: ResetForm }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const { token, new_password, new_password_confirm } = request.body;
      if (new_password !== new_password_confirm)
        return renderReset(reply.code(400), {
          token,
          errors: { new_password_confirm: 'The passwords do not match.' },
        });
      const result = await accounts.resetPassword(token, new_password, clientInfo(request));
      if (result.ok) return reply.redirect('/login?reset=1', 303);
      if (result.field === 'token') return renderReset(reply.code(400), { invalid: result.error });
      return renderReset(reply.code(400), {
        token,
        errors: { [result.field ?? 'new_password']: result.error },
      });
    },
  );

  app.post<{ Body: ResetConfirmBody }>(
    '/api/password-reset/confirm',
    { schema: resetConfirmSchema },
    async (request, reply) => {
      const result = await accounts.resetPassword(
        request.body.token,
        request.body.new_password,
        clientInfo(request),
      );
      return result.ok ? reply.code(204).send() : sendFailure(reply, { ...result, status: 400 });
    },
  );
}
