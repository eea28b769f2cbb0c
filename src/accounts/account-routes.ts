import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clearAuthCookie } from '../auth/cookies.ts';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.ts';
import { clientInfo, currentUser } from '../auth/plugin.ts';
import type { Config } from '../config.ts';
import { isNavigation } from '../web/forms.ts';
import { ACTIVITY_SHOWN, type ActivityLog } from './activity.ts';
import { sendFailure } from './http.ts';
import {
  accountPageSchema,
  deleteFormSchema,
  emailFormSchema,
  passwordFormSchema,
  revokeFormSchema,
  revokeOthersFormSchema,
} from './page-schemas.ts';
import { SessionParams } from './schemas.ts';
import type { AccountService, Failure } from './service.ts';
import { activityView, sessionView } from './view-models.ts';

const NOTICES = {
  'password-changed': 'Your password was changed. Every other session has ended.',
  'email-sent': 'We sent a confirmation link to your email address.',
  'email-verified': 'This address is already verified on your account. Nothing was sent.',
  'session-revoked': 'The session has ended.',
  'others-revoked': 'Every other session has ended.',
} as const;

const AccountQuery = Type.Object({
  notice: Type.Optional(Type.Union(Object.keys(NOTICES).map((k) => Type.Literal(k)))),
});
const pw = Type.String({ maxLength: MAX_PASSWORD_LENGTH });
const Csrf = Type.Optional(Type.String({ maxLength: 256 }));
const PasswordForm = Type.Object({
  current_password: pw,
  new_password: pw,
  new_password_confirm: pw,
  _csrf: Csrf,
});
const EmailForm = Type.Object({ email: Type.String({ maxLength: 254 }), _csrf: Csrf });
const DeleteForm = Type.Object({ password: pw, _csrf: Csrf });
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The account page and its forms. Forms post as plain navigations (answered with a redirect, or
 * the page again with the errors), except revoke buttons, which SSEXI.js posts with fetch
 * (answered 204; the list changes over the stream).
 */
export default async function accountRoutes(
  app: FastifyInstance,
  opts: { config: Config; accounts: AccountService; activity: ActivityLog },
) {
  const { config, accounts, activity } = opts;
  const guard = { preHandler: [app.requirePageUser, app.csrfProtection] };

  const renderAccount = async (
    request: FastifyRequest,
    reply: FastifyReply,
    params: { errors?: Record<string, string>; values?: object; notice?: string | null } = {},
  ) => {
    const user = currentUser(request);
    // `lastEventId` comes with the view, read before this handler (src/events/view-locals.ts), for
    // the page and for a form answered with the page again: a push meanwhile is replayed, not lost.
    const [sessions, recent] = await Promise.all([
      app.auth.sessions.listActive(user.id, Math.floor(Date.now() / 1000)),
      activity.recent(user.id),
    ]);
    return reply.view('account.njk', {
      sessions: sessions.map((row) => sessionView(row, user.tokenId)),
      activity: recent.map(activityView),
      activityShown: ACTIVITY_SHOWN,
      minLength: config.passwordMinLength,
      errors: {},
      values: { email: '' },
      notice: null,
      ...params,
    });
  };
  const done = (request: FastifyRequest, reply: FastifyReply, notice: keyof typeof NOTICES) =>
    isNavigation(request) ? reply.redirect(`/account?notice=${notice}`, 303) : reply.code(204).send();
  /** A refused form: the page again with the error at its field (or `{error}` for fetch callers). */
  const refused = (request: FastifyRequest, reply: FastifyReply, failure: Failure, fallbackField: string) => {
    if (!isNavigation(request)) return sendFailure(reply, failure);
    if (failure.retryAfter) reply.header('retry-after', String(failure.retryAfter));
    return renderAccount(request, reply.code(failure.status === 429 ? 429 : 400), {
      errors: { [failure.field ?? fallbackField]: failure.error },
    });
  };

  app.get<{ Querystring: Static<typeof AccountQuery> }>(
    '/account',
    { schema: { ...accountPageSchema, querystring: AccountQuery }, preHandler: app.requirePageUser },
    async (request, reply) =>
      renderAccount(request, reply, {
        notice: request.query.notice ? NOTICES[request.query.notice as keyof typeof NOTICES] : null,
      }),
  );

  app.post<{ Body: Static<typeof PasswordForm> }>(
    '/account/password',
    { schema: { ...passwordFormSchema, body: PasswordForm }, ...guard },
    async (request, reply) => {
      const { current_password, new_password, new_password_confirm } = request.body;
      if (new_password !== new_password_confirm) {
        const failure = { ok: false, status: 400, error: 'The new passwords do not match.' } as const;
        return refused(request, reply, failure, 'new_password_confirm');
      }
      const user = currentUser(request);
      const result = await accounts.changePassword(user, current_password, new_password, clientInfo(request));
      return result.ok
        ? done(request, reply, 'password-changed')
        : refused(request, reply, result, 'new_password');
    },
  );

  app.post<{ Body: Static<typeof EmailForm> }>(
    '/account/email',
    { schema: { ...emailFormSchema, body: EmailForm }, ...guard },
    async (request, reply) => {
      const email = request.body.email.trim();
      if (!EMAIL_PATTERN.test(email)) {
        const failure = { ok: false, status: 400, error: 'This is not an email address.' } as const;
        if (!isNavigation(request)) return sendFailure(reply, failure);
        return renderAccount(request, reply.code(400), {
          errors: { email: failure.error },
          values: { email },
        });
      }
      const result = await accounts.setEmail(currentUser(request), email);
      if (!result.ok) return refused(request, reply, result, 'email');
      return done(request, reply, result.verified ? 'email-verified' : 'email-sent');
    },
  );

  app.post<{ Params: Static<typeof SessionParams> }>(
    '/account/sessions/:id/revoke',
    { schema: { ...revokeFormSchema, params: SessionParams }, ...guard },
    async (request, reply) => {
      const user = currentUser(request);
      if (!(await accounts.revokeSession(user, request.params.id, clientInfo(request))))
        return reply.code(404).send({ error: 'No such session' });
      return done(request, reply, 'session-revoked');
    },
  );

  app.post(
    '/account/sessions/revoke-others',
    { schema: revokeOthersFormSchema, ...guard },
    async (request, reply) => {
      await accounts.revokeOtherSessions(currentUser(request), clientInfo(request));
      return done(request, reply, 'others-revoked');
    },
  );

  app.post<{ Body: Static<typeof DeleteForm> }>(
    '/account/delete',
    { schema: { ...deleteFormSchema, body: DeleteForm }, ...guard },
    async (request, reply) => {
      const result = await accounts.deleteAccount(
        currentUser(request),
        request.body.password,
        clientInfo(request),
      );
      if (!result.ok) return refused(request, reply, result, 'password');
      clearAuthCookie(reply, !config.debug);
      return isNavigation(request) ? reply.redirect('/login', 303) : reply.code(204).send();
    },
  );
}
