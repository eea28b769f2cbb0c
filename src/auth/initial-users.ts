import type { FastifyBaseLogger } from 'fastify';
import type { InitialUser } from '../config.ts';
import type { AuthService } from './service.ts';

/**
 * Creates the configured users that do not exist yet. Existing rows are never touched, so a
 * changed INITIAL_USERS password does not silently reset a user's own password.
 */
export async function ensureInitialUsers(auth: AuthService, users: InitialUser[], log: FastifyBaseLogger) {
  for (const { username, password } of users) {
    if (await auth.users.findByUsername(username)) continue;
    if (await auth.users.create(username, await auth.passwords.hash(password)))
      log.info({ username }, 'created initial user');
  }
}
