/**
 * The account's security activity: sign-ins, failed sign-ins, password changes, revoked sessions,
 * verified addresses, reset requests — with time, address and user agent, so a user can spot
 * what they did not do. The account page shows the newest ACTIVITY_SHOWN; older rows are pruned
 * after ACTIVITY_KEPT_DAYS, and an account keeps only its newest ACTIVITY_KEPT_PER_USER: the login
 * throttle bounds failed sign-ins by rate, but sign-ins themselves (a script with the password)
 * are bounded by nothing else.
 */
import type { Kysely } from 'kysely';
import type { ClientInfo } from '../auth/service.ts';
import type { Database } from '../db/schema.ts';

export const ACTIVITY_KINDS = {
  'sign-in': 'Signed in',
  'sign-in-failed': 'Failed sign-in (wrong password)',
  'password-changed': 'Password changed',
  'password-reset': 'Password reset by email',
  'session-revoked': 'Session revoked',
  'email-verified': 'Email address verified',
  'reset-requested': 'Password reset requested',
} as const;

export type ActivityKind = keyof typeof ACTIVITY_KINDS;

export interface ActivityEntry {
  id: number;
  kind: ActivityKind;
  created_at: number;
  ip: string;
  user_agent: string;
}

export const ACTIVITY_SHOWN = 20;
const ACTIVITY_KEPT_DAYS = 90;
/** Entries kept per account, newest first (the page shows ACTIVITY_SHOWN of them). */
export const ACTIVITY_KEPT_PER_USER = 200;

export type ActivityLog = ReturnType<typeof createActivityLog>;

export function createActivityLog(db: Kysely<Database>) {
  return {
    async record(userId: number, kind: ActivityKind, client: ClientInfo): Promise<ActivityEntry> {
      const entry = {
        user_id: userId,
        kind,
        created_at: Math.floor(Date.now() / 1000),
        ip: client.ip.slice(0, 64),
        user_agent: client.userAgent.slice(0, 512),
      };
      const row = await db
        .insertInto('security_events')
        .values(entry)
        .returning('id')
        .executeTakeFirstOrThrow();
      // Entries older than the account's newest ACTIVITY_KEPT_PER_USER go: usually the one this
      // insert pushed out.
      const cut = await db
        .selectFrom('security_events')
        .select('id')
        .where('user_id', '=', userId)
        .orderBy('id', 'desc')
        .limit(1)
        .offset(ACTIVITY_KEPT_PER_USER)
        .executeTakeFirst();
      if (cut)
        await db
          .deleteFrom('security_events')
          .where('user_id', '=', userId)
          .where('id', '<=', cut.id)
          .execute();
      return {
        id: Number(row.id),
        kind,
        created_at: entry.created_at,
        ip: entry.ip,
        user_agent: entry.user_agent,
      };
    },

    /** The newest `limit` entries, newest first. */
    async recent(userId: number, limit = ACTIVITY_SHOWN): Promise<ActivityEntry[]> {
      const rows = await db
        .selectFrom('security_events')
        .select(['id', 'kind', 'created_at', 'ip', 'user_agent'])
        .where('user_id', '=', userId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        ...r,
        id: Number(r.id),
        kind: r.kind as ActivityKind,
        created_at: Number(r.created_at),
      }));
    },

    async prune(nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
      await db
        .deleteFrom('security_events')
        .where('created_at', '<', nowSeconds - ACTIVITY_KEPT_DAYS * 86_400)
        .execute();
    },
  };
}
