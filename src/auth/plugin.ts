import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { readToken } from './cookies.ts';
import { ensureInitialUsers } from './initial-users.ts';
import { type AuthenticatedUser, type AuthService, createAuthService } from './service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
    /** preHandler for HTML pages: anonymous visitors are sent to the login form. */
    requirePageUser: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** preHandler for APIs and streams: anonymous callers get 401 JSON. */
    requireApiUser: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    user: AuthenticatedUser | null;
  }
}

/** The signed-in user of a route behind a guard; calling it on an unguarded route is a bug. */
export function currentUser(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw new TypeError(`${request.routeOptions.url} reads the user but has no auth guard`);
  return request.user;
}

/** Resolves `request.user` on every request and provides the guards routes opt into. */
export default fp(
  async (app, opts: { config: Config }) => {
    const auth = createAuthService(app.db, opts.config);
    await ensureInitialUsers(auth, opts.config.initialUsers, app.log);
    app.decorate('auth', auth);
    app.decorateRequest('user', null);

    app.addHook('onRequest', async (request) => {
      const token = readToken(request);
      if (token !== null) request.user = await auth.authenticate(token);
    });

    app.decorate('requirePageUser', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.user) {
        const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
        return reply.redirect(`/login${next}`);
      }
    });
    app.decorate('requireApiUser', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.user)
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Not authenticated' });
    });
  },
  { name: 'auth', dependencies: ['db', 'web'] },
);
