import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { readToken, setAuthCookie } from './cookies.ts';
import { ensureInitialUsers } from './initial-users.ts';
import { createLoginThrottle, type LoginThrottle } from './login-throttle.ts';
import { createRateLimiter, type RateLimiter } from './rate-limiter.ts';
import { type AuthenticatedUser, type AuthService, type ClientInfo, createAuthService } from './service.ts';
import { createFailoverThrottleStore } from './throttle-failover.ts';
import { createRedisThrottleStore, createSqlThrottleStore } from './throttle-stores.ts';

/** How often expired sessions, revocations and login-failure windows are deleted. */
const PRUNE_INTERVAL_MS = 10 * 60_000;
/** How often batched "last seen" times are written. */
const LAST_SEEN_FLUSH_MS = 15_000;

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
    /** Failed-login counters shared by every instance (Redis or the database). */
    loginThrottle: LoginThrottle;
    /** Use counters over the same store, for sign-up, reset and mail limits (LOGIN_WINDOW_MINUTES). */
    rateLimiter: RateLimiter;
    /** preHandler for HTML pages: anonymous visitors are sent to the login form. */
    requirePageUser: preHandlerHookHandler;
    /** preHandler for APIs and streams: anonymous callers get 401 JSON. */
    requireApiUser: preHandlerHookHandler;
  }
  interface FastifyRequest {
    user: AuthenticatedUser | null;
  }
}

/** Where a request comes from, as recorded with a session. */
export function clientInfo(request: FastifyRequest): ClientInfo {
  return { ip: request.ip, userAgent: request.headers['user-agent'] ?? '' };
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

    const { config } = opts;
    const sqlStore = createSqlThrottleStore(app.db);
    const throttleStore = config.redisUrl
      ? createFailoverThrottleStore(
          createRedisThrottleStore({
            url: config.redisUrl,
            secretKey: config.secretKey,
            databaseUrl: config.databaseUrl,
            keyPrefix: config.redisKeyPrefix,
            onError: (err) => app.log.warn({ err }, 'login throttle: Redis connection error'),
          }),
          sqlStore,
          () => app.log.warn('login throttle: Redis unavailable, counting in the database'),
        )
      : sqlStore;
    const throttle = createLoginThrottle(throttleStore, {
      maxPerAccount: config.loginMaxFailuresPerAccount,
      maxPerIp: config.loginMaxFailuresPerIp,
      windowMs: config.loginWindowMinutes * 60_000,
    });
    app.decorate('loginThrottle', throttle);
    app.decorate('rateLimiter', createRateLimiter(throttleStore, config.loginWindowMinutes * 60_000));

    // Revocation rows and failure windows are useless once expired; delete them on start and
    // then periodically. The timer belongs to this app instance and ends with it.
    let pruning: Promise<void> = Promise.resolve();
    const prune = () => {
      pruning = Promise.all([auth.pruneExpired(), throttle.prune()]).then(
        () => {},
        (err: unknown) => app.log.warn({ err }, 'pruning expired auth rows failed'),
      );
    };
    const pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
    pruneTimer.unref();
    let flushing: Promise<void> = Promise.resolve();
    const flushLastSeen = () => {
      flushing = auth
        .flushLastSeen()
        .catch((err: unknown) => app.log.warn({ err }, 'recording last-seen times failed'));
    };
    const flushTimer = setInterval(flushLastSeen, LAST_SEEN_FLUSH_MS);
    flushTimer.unref();
    app.addHook('onReady', async () => prune());
    app.addHook('onClose', async () => {
      clearInterval(pruneTimer);
      clearInterval(flushTimer);
      flushLastSeen();
      await Promise.all([pruning, flushing]);
      await throttleStore.close();
    });

    const secure = !config.debug;
    /** Sets the signed-in user; a promise only when the session must be read or the cookie renewed. */
    const signIn = (
      request: FastifyRequest,
      reply: FastifyReply,
      token: string,
    ): Promise<void> | undefined => {
      const known = auth.authenticateFromCache(token);
      if (known === undefined)
        return auth.authenticate(token, clientInfo(request)).then((user) => signedIn(request, reply, user));
      return signedIn(request, reply, known);
    };
    const signedIn = (
      request: FastifyRequest,
      reply: FastifyReply,
      user: AuthenticatedUser | null,
    ): Promise<void> | undefined => {
      request.user = user;
      if (!user) return;
      // A signed-in user's pages and data must not outlive the session in a shared or back-button
      // cache (ASVS 8.2.1); routes that set their own policy replace it.
      reply.header('cache-control', 'no-store');
      // Sliding expiry: a browser using its session past half the token's life gets a fresh
      // cookie for the same session. Bearer clients renew through POST /api/session/refresh.
      if (request.headers.authorization !== undefined || !auth.renewalDue(user)) return;
      return auth.renew(user).then((renewed) => {
        if (renewed)
          setSessionCookie(reply, renewed.token, renewed.claims.exp, user.session.persistent, secure);
      });
    };
    // Callback style: anonymous requests, and signed-in ones whose session this instance knows
    // (nearly all), pass without a promise.
    app.addHook('onRequest', (request, reply, done) => {
      const token = readToken(request);
      if (token === null) return done();
      const pending = signIn(request, reply, token);
      if (pending === undefined) return done();
      pending.then(() => done(), done);
    });

    app.decorate(
      'requirePageUser',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        if (request.user) return done();
        const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
        reply.redirect(`/login${next}`);
      },
    );
    app.decorate(
      'requireApiUser',
      (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        if (request.user) return done();
        reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Not authenticated' });
      },
    );
  },
  { name: 'auth', dependencies: ['db', 'web'] },
);

/** The session cookie for a token expiring at `exp`: persistent ("remember me") or for this browser session. */
export function setSessionCookie(
  reply: FastifyReply,
  token: string,
  exp: number,
  persistent: boolean,
  secure: boolean,
): void {
  setAuthCookie(reply, token, persistent ? exp - Math.floor(Date.now() / 1000) : null, secure);
}
