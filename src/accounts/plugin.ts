import type { FastifyInstance } from 'fastify';
import type { ClientInfo } from '../auth/service.ts';
import type { Config } from '../config.ts';
import { createMailer } from '../mail/mailer.ts';
import accountRoutes from './account-routes.ts';
import { createAccountTokenStore } from './account-tokens.ts';
import { type ActivityKind, createActivityLog } from './activity.ts';
import accountApiRoutes from './api-routes.ts';
import { createAccountLive } from './live.ts';
import recoveryRoutes from './recovery-routes.ts';
import registerRoutes from './register-routes.ts';
import { createAccountService } from './service.ts';

/** How often used-up mail tokens and old activity are deleted. */
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * Accounts: sign-up, the account page (profile, password, live sessions and security activity,
 * deletion), email verification and password reset, with their mail. Session changes made
 * anywhere in this instance (auth's `onChange`) become activity entries and live updates of the
 * account page; they are written and pushed after the answer, off its path, and close waits for
 * them.
 */
export default async function accountsPlugin(app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts;
  const mailer = createMailer(config, app.log);
  const activity = createActivityLog(app.db);
  const tokens = createAccountTokenStore(app.db);
  const live = createAccountLive(app, activity);
  if (!config.smtpUrl)
    app.log.warn(
      config.debug
        ? 'SMTP_URL is not set: mails (verification, password reset) are written to the log (DEBUG)'
        : 'SMTP_URL is not set: verification and password-reset mails cannot be sent',
    );

  const background = new Set<Promise<void>>();
  const later = (work: () => Promise<void>) => {
    const running: Promise<void> = work()
      .catch((err: unknown) => app.log.error({ err }, 'account background work failed'))
      .finally(() => background.delete(running));
    background.add(running);
  };
  const record = (userId: number, username: string, kind: ActivityKind, client: ClientInfo) =>
    later(async () => live.activityAdded(username, userId, await activity.record(userId, kind, client)));

  app.auth.onChange(async (change) => {
    if (change.kind === 'session-started') {
      const { session, username } = change;
      const client = { ip: session.ip, userAgent: session.user_agent };
      try {
        await live.sessionStarted(username, session);
        await live.activityAdded(
          username,
          session.user_id,
          await activity.record(session.user_id, 'sign-in', client),
        );
      } catch (err) {
        app.log.error({ err }, 'recording a sign-in failed');
      }
    } else if (change.kind === 'sign-in-failed') {
      record(change.userId, change.username, 'sign-in-failed', change.client);
    } else if (change.kind === 'session-ended' && change.reason !== 'removed') {
      const ids = change.tokenId === undefined ? (change.ended ?? []) : [change.tokenId];
      later(() => live.sessionsEnded(change.username, ids));
    }
  });

  const accounts = createAccountService({
    db: app.db,
    config,
    auth: app.auth,
    loginThrottle: app.loginThrottle,
    rateLimiter: app.rateLimiter,
    tokens,
    mailer,
    record,
    later,
    forgetMessages: (username) => app.events.log.forget(username),
  });

  const prune = () =>
    later(async () => {
      await Promise.all([tokens.prune(), activity.prune()]);
    });
  const pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  app.addHook('onReady', async () => prune());
  app.addHook('onClose', async () => {
    clearInterval(pruneTimer);
    while (background.size > 0) await Promise.all(background);
    await mailer.close();
  });

  if (config.allowRegistration) await app.register(registerRoutes, { config, accounts });
  await app.register(accountRoutes, { config, accounts, activity });
  await app.register(accountApiRoutes, { accounts, activity });
  await app.register(recoveryRoutes, { config, accounts });
}
