/**
 * What signing in means, for the form and the API alike: the throttle counts the attempt, the
 * credentials are checked (a refusal is recorded by auth), success is taken back off the count,
 * and a session starts. One generic error for a wrong name or password, and the same words for
 * whichever throttle limit was hit, so neither reveals which.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';
import { clientInfo } from './plugin.ts';

export const LOGIN_ERROR = 'Invalid username or password';

export const throttledMessage = (seconds: number) =>
  `Too many failed logins. Try again in ${seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`}.`;

export const Credentials = Type.Object({
  username: Type.String({ maxLength: 150 }),
  password: Type.String({ maxLength: MAX_PASSWORD_LENGTH }),
});
export type Credentials = Static<typeof Credentials>;

/**
 * Sign-in for one plugin's routes: throttle (counts the attempt) → credential check → success
 * taken back off the count → session, each outcome counted in `auth_logins_total`.
 */
export function createLoginAttempt(app: FastifyInstance) {
  const logins = app.metrics.counter('auth_logins_total', 'Login attempts by result', ['result']);
  return async (request: FastifyRequest, { username, password }: Credentials, persistent: boolean) => {
    const attempt = { username, ip: request.ip };
    const retryAfter = await app.loginThrottle.begin(attempt);
    if (retryAfter !== null) {
      logins.inc({ result: 'throttled' });
      return { kind: 'throttled', retryAfter } as const;
    }
    const client = clientInfo(request);
    const user = await app.loginThrottle.check(attempt, () =>
      app.auth.verifyCredentials(username, password, client),
    );
    if (!user) {
      logins.inc({ result: 'failure' });
      return { kind: 'invalid' } as const;
    }
    await app.loginThrottle.succeeded(attempt);
    logins.inc({ result: 'success' });
    return { kind: 'ok', user, issued: await app.auth.startSession(user, client, persistent) } as const;
  };
}
