import type { FastifyInstance } from 'fastify';
import { clientInfo, currentUser } from '../auth/plugin.ts';
import type { ActivityLog } from './activity.ts';
import { sendFailure } from './http.ts';
import {
  activitySchema,
  type DeleteAccountBody,
  deleteAccountSchema,
  deleteSessionSchema,
  type EmailBody,
  listSessionsSchema,
  type PasswordChangeBody,
  passwordChangeSchema,
  revokeOthersSchema,
  type SessionParams,
  setEmailSchema,
} from './schemas.ts';
import type { AccountService } from './service.ts';

/** The account as JSON, for bearer clients and scripts: sessions, password, email, deletion, activity. */
export default async function accountApiRoutes(
  app: FastifyInstance,
  opts: { accounts: AccountService; activity: ActivityLog },
) {
  const { accounts, activity } = opts;
  const read = { preHandler: app.requireApiUser };
  // app.csrfProtection lets bearer requests through (src/web/forms.ts): cookie callers need the token.
  const write = { preHandler: [app.requireApiUser, app.csrfProtection] };

  app.get('/api/sessions', { schema: listSessionsSchema, ...read }, async (request) => {
    const user = currentUser(request);
    const rows = await app.auth.sessions.listActive(user.id, Math.floor(Date.now() / 1000));
    return rows.map((row) => ({
      id: row.id,
      created_at: row.created_at,
      last_seen_at: row.last_seen_at,
      expires_at: row.expires_at,
      user_agent: row.user_agent,
      ip: row.ip,
      current: row.id === user.tokenId,
    }));
  });

  app.delete<{ Params: SessionParams }>(
    '/api/sessions/:id',
    { schema: deleteSessionSchema, ...write },
    async (request, reply) => {
      // Another user's session id answers exactly like one that does not exist.
      if (!(await accounts.revokeSession(currentUser(request), request.params.id, clientInfo(request))))
        return reply.code(404).send({ error: 'No such session' });
      return reply.code(204).send();
    },
  );

  app.post('/api/sessions/revoke-others', { schema: revokeOthersSchema, ...write }, async (request) => ({
    ended: await accounts.revokeOtherSessions(currentUser(request), clientInfo(request)),
  }));

  app.post<{ Body: PasswordChangeBody }>(
    '/api/account/password',
    { schema: passwordChangeSchema, ...write },
    async (request, reply) => {
      const { current_password, new_password } = request.body;
      const result = await accounts.changePassword(
        currentUser(request),
        current_password,
        new_password,
        clientInfo(request),
      );
      return result.ok ? reply.code(204).send() : sendFailure(reply, result);
    },
  );

  app.post<{ Body: EmailBody }>(
    '/api/account/email',
    { schema: setEmailSchema, ...write },
    async (request, reply) => {
      const result = await accounts.setEmail(currentUser(request), request.body.email);
      if (!result.ok) return sendFailure(reply, result);
      // 202: a link is on its way; 200: it already is the verified address, nothing was sent.
      return reply
        .code(result.verified ? 200 : 202)
        .send({ email: result.email, email_verified: result.verified });
    },
  );

  app.delete<{ Body: DeleteAccountBody }>(
    '/api/account',
    { schema: deleteAccountSchema, ...write },
    async (request, reply) => {
      const result = await accounts.deleteAccount(
        currentUser(request),
        request.body.password,
        clientInfo(request),
      );
      return result.ok ? reply.code(204).send() : sendFailure(reply, result);
    },
  );

  app.get('/api/account/activity', { schema: activitySchema, ...read }, async (request) =>
    (await activity.recent(currentUser(request).id)).map(({ kind, created_at, ip, user_agent }) => ({
      kind,
      created_at,
      ip,
      user_agent,
    })),
  );
}
