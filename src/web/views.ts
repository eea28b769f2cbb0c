import { fileURLToPath } from 'node:url';
import view from '@fastify/view';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import nunjucks from 'nunjucks';
import { DEMO_USERS, type InitialUser } from '../config.ts';
import { memoiseImports } from './nunjucks-env.ts';
import { htmlAttrs } from './view-filters.ts';

declare module 'fastify' {
  interface FastifyReply {
    /** Per-request template context merged by @fastify/view (its types omit it). */
    locals: Record<string, unknown>;
  }
}

export const VIEWS = fileURLToPath(new URL('./views/', import.meta.url));

// The per-reply slot behind the lazy `locals` (declared once, so replies keep one shape).
const kLocals = Symbol('locals');
type WithLocals = FastifyReply & { [kLocals]: Record<string, unknown> | null };

/** The theme a visitor picked with the toggle (a cookie, so the first paint is already right). */
export const THEME_COOKIE = 'theme';
const THEMES = new Set(['light', 'dark']);

/** Links of the app shell; each appears only when its route exists in this app. */
const NAV = [
  { href: '/protected', label: 'Courses' },
  { href: '/account', label: 'Account' },
] as const;

/** The event stream of `username`, as pages put it in `sx-connect`. */
export function streamUrlFor(username: string): string {
  return `/protected/events/${encodeURIComponent(username)}`;
}

/**
 * Nunjucks (autoescaped) through @fastify/view, and the context every view gets without the
 * handler passing it. @fastify/view builds its own environment from `options` (it ignores a
 * ready-made one), so the settings go there: `noCache` in DEBUG re-reads an edited view on the
 * next request, which is what makes `npm run dev` show template edits without a restart; and
 * `onConfigure` makes component imports run once per compiled template (nunjucks-env.ts) and adds
 * the views' filters (view-filters.ts).
 */
export async function registerViews(
  app: FastifyInstance,
  opts: { debug: boolean; initialUsers: readonly InitialUser[] },
): Promise<void> {
  // The seed's demo accounts are shown on the login form, in DEBUG only, so a first run needs
  // no README to sign in. (Only those well-known pairs: INITIAL_USERS stay unlisted.)
  const demoAccounts = opts.debug
    ? opts.initialUsers.filter((user) =>
        DEMO_USERS.some((demo) => demo.username === user.username && demo.password === user.password),
      )
    : [];
  const hasPage = (path: string) => app.hasRoute({ method: 'GET', url: path });
  let nav: { href: string; label: string }[] | undefined;
  // Built the first time a view asks (@fastify/view copies the locals when it renders), on any
  // answer, error pages included — so JSON answers, streams and redirects never pay for it.
  // Getters are read at render, so `user` is the one authentication found and the CSRF token (and
  // its secret cookie) is made only when asked for. Declared before @fastify/view registers, so
  // it adds no per-request hook of its own.
  const localsFor = (request: FastifyRequest, reply: FastifyReply): Record<string, unknown> => {
    let token: string | undefined;
    return {
      // @fastify/view copies the locals when it renders, reading every getter: this one makes the
      // page's nonces, which marks the reply a document (plugin.ts). So every rendered view gets
      // the document's security headers, whether or not its template uses the nonce.
      get cspNonce() {
        return reply.cspNonce.script;
      },
      csrfToken: () => {
        token ??= reply.generateCsrf();
        return token;
      },
      get user() {
        return request.user;
      },
      get streamUrl() {
        return request.user ? streamUrlFor(request.user.username) : '';
      },
      get nav() {
        nav ??= NAV.filter((item) => hasPage(item.href));
        return nav;
      },
      hasPage,
      demoAccounts,
      currentPath: request.url.split('?')[0],
      theme: themeOf(request),
    };
  };
  app.decorateReply(kLocals, null);
  app.decorateReply('locals', {
    getter(this: FastifyReply) {
      const reply = this as WithLocals;
      reply[kLocals] ??= localsFor(reply.request, reply);
      return reply[kLocals];
    },
    setter(this: FastifyReply, value: Record<string, unknown>) {
      (this as WithLocals)[kLocals] = value;
    },
  });

  await app.register(view, {
    engine: { nunjucks },
    templates: VIEWS,
    options: {
      autoescape: true,
      throwOnUndefined: false,
      noCache: opts.debug,
      onConfigure: (env: nunjucks.Environment) => {
        memoiseImports(env);
        env.addFilter('htmlAttrs', htmlAttrs);
      },
    },
  });
}

function themeOf(request: FastifyRequest): string | null {
  const value = request.cookies[THEME_COOKIE];
  return value !== undefined && THEMES.has(value) ? value : null;
}
