/**
 * API documentation: an OpenAPI 3.1 document generated from the route schemas
 * (@fastify/swagger) at `/openapi.json`, browsable at `/docs` (@fastify/swagger-ui, served from
 * the package, nothing fetched from elsewhere). On when `API_DOCS` is true (default: `DEBUG`).
 *
 * Two plugins because of Fastify's order: the collector must exist before any route is added,
 * while the pages go after the security plugin so they get the same document headers and CSP as
 * every other page (Swagger UI loads only its own same-origin scripts and styles, so the strict
 * CSP holds, but for its logo's style; its validator badge, the one outside request, is off).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const DESCRIPTION = `Login and live updates for server-rendered pages.

**Authentication.** Pages use the \`access_token\` cookie set by \`POST /login\`; API clients send
\`Authorization: Bearer <token>\` from \`POST /api/login\`. Both are checked against the server on
every request, so logout ends a token everywhere.

**CSRF.** A cookie-authenticated state change needs the form's CSRF token (\`_csrf\` field, or the
\`x-csrf-token\` header) and a same-origin request. A bearer-authenticated one needs neither: no
browser attaches that header by itself.

**Forms** accept \`application/x-www-form-urlencoded\` and \`multipart/form-data\` (fields only).
A form navigation gets a redirect; a \`fetch\` (SSEXI's \`sx-post\`) gets JSON.

**Live updates** arrive on \`GET /protected/events/{username}\` as Server-Sent Events; see that
operation for the message format.`;

/** Collects every route's schema; register before any route. */
export const openApiCollector = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'auth-sse', version, description: DESCRIPTION },
        tags: [
          { name: 'auth', description: 'Sign in and out (JSON API)' },
          {
            name: 'accounts',
            description:
              'Sign-up, sessions, password, email verification and reset, account deletion (JSON API)',
          },
          { name: 'courses', description: 'The demo feature: changes are pushed to every open stream' },
          { name: 'events', description: 'Server-Sent Events and publishing to them' },
          { name: 'pages', description: 'HTML pages and the forms on them' },
          { name: 'health', description: 'Probes for load balancers and orchestrators' },
          { name: 'operations', description: 'Metrics for monitoring (when METRICS_API_KEY is set)' },
        ],
        components: {
          securitySchemes: {
            cookieAuth: { type: 'apiKey', in: 'cookie', name: 'access_token' },
            bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            publishKey: {
              type: 'http',
              scheme: 'bearer',
              description: 'The PUBLISH_API_KEY shared with trusted back-end services',
            },
            metricsKey: {
              type: 'http',
              scheme: 'bearer',
              description: 'The METRICS_API_KEY your Prometheus scraper sends',
            },
          },
        },
      },
    });
  },
  { name: 'openapi' },
);

/**
 * Swagger UI's top bar draws its logo as an SVG with one `<style>` element of fixed content. Its
 * hash lets exactly that style through on the docs pages; the rest of the policy is the app's own
 * (a browser test fails if a Swagger UI update changes the logo's style).
 */
const LOGO_STYLE = '.logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}';
const LOGO_STYLE_HASH = `'sha256-${createHash('sha256').update(LOGO_STYLE).digest('base64')}'`;

/** `/openapi.json` and the `/docs` browser. */
export async function apiDocsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // Everything under /docs (its page, scripts, styles, its copy of the document) is a document:
  // the document set, whose CSP the transform below adjusts. (A scope-wide hook: Swagger UI's
  // `uiHooks` miss the files it serves.) `/openapi.json` above is plain JSON: the resource set.
  await app.register(async (docs) => {
    docs.addHook('onRequest', (_request, reply, done) => {
      reply.markDocument();
      done();
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { validatorUrl: null, deepLinking: true, tryItOutEnabled: false },
      transformStaticCSP: (header) => header.replace(/style-src ([^;]*)/, `style-src $1 ${LOGO_STYLE_HASH}`),
    });
  });
}
