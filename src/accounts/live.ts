/**
 * The account page is live over the user's stream: a session started elsewhere appears in
 * "Where you are signed in", an ended one disappears, and new security activity is prepended.
 * Each push carries only what changed, rendered by the same partial the page uses. A pushed
 * session is never "this device": a session's own pages are rendered after it started. Pushed
 * revoke buttons carry no form token: they post with SSEXI.js, which sends the page's token.
 */
import type { FastifyInstance } from 'fastify';
import type { SessionRow } from '../auth/sessions.ts';
import { ACTIVITY_SHOWN, type ActivityEntry, type ActivityLog } from './activity.ts';
import { activityView, sessionDomId, sessionView } from './view-models.ts';

/** The account page's stream topic: its pushes reach account pages only (`?topic=account`). */
export const accountTopic = (username: string) => `${username}#account`;
export const SESSION_LIST_ID = 'session-list';
export const ACTIVITY_LIST_ID = 'activity-list';

export function createAccountLive(app: FastifyInstance, activity: ActivityLog) {
  const render = async (template: string, context: object) => (await app.view(template, context)).trim();
  return {
    async sessionStarted(username: string, row: SessionRow): Promise<void> {
      const content = await render('partials/session-item.njk', { session: sessionView(row, null) });
      await app.events.publish(accountTopic(username), {
        html: { [SESSION_LIST_ID]: { content, swap: 'append' } },
      });
    },

    async sessionsEnded(username: string, ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      const html = Object.fromEntries(ids.map((id) => [sessionDomId(id), { swap: 'remove' as const }]));
      await app.events.publish(accountTopic(username), { html });
    },

    /** Prepends the entry; the one it pushes past the shown count leaves the list. */
    async activityAdded(username: string, userId: number, entry: ActivityEntry): Promise<void> {
      const content = await render('partials/activity-item.njk', { entry: activityView(entry) });
      const shown = await activity.recent(userId, ACTIVITY_SHOWN + 1);
      const dropped = shown.length > ACTIVITY_SHOWN ? shown.at(-1) : undefined;
      await app.events.publish(accountTopic(username), {
        html: {
          [ACTIVITY_LIST_ID]: { content, swap: 'prepend' },
          ...(dropped ? { [activityView(dropped).domId]: { swap: 'remove' as const } } : {}),
        },
      });
    },
  };
}
