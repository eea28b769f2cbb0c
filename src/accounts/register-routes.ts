import type { FastifyInstance, FastifyReply } from 'fastify';
import { clientInfo, setSessionCookie } from '../auth/plugin.ts';
import { isValidUsername } from '../auth/users.ts';
import type { Config } from '../config.ts';
import { sendFailure } from './http.ts';
import { registerFormSchema, registerPageSchema } from './page-schemas.ts';
import { type RegisterBody, RegisterForm, registerSchema } from './schemas.ts';
import { type AccountService, USERNAME_RULE } from './service.ts';

const HOME = '/protected';
/** Simple enough for a form field; the API route's schema (ajv `email` format) is the strict check. */
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Sign-up, as a form (cookie session) and as JSON (bearer token). Registered only when ALLOW_REGISTRATION. */
export default async function registerRoutes(
  app: FastifyInstance,
  opts: { config: Config; accounts: AccountService },
) {
  const { config, accounts } = opts;
  const secure = !config.debug;
  const render = (
    reply: FastifyReply,
    params: { errors?: Record<string, string>; values?: object; error?: string },
  ) =>
    reply.view('register.njk', {
      errors: {},
      values: { username: '', email: '' },
      error: null,
      minLength: config.passwordMinLength,
      ...params,
    });

  app.get('/register', { schema: registerPageSchema }, async (request, reply) => {
    if (request.user) return reply.redirect(HOME);
    return render(reply, {});
  });

  app.post<{ Body: RegisterForm }>(
    '/register',
    { schema: { ...registerFormSchema, body: RegisterForm }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const { username, password, password_confirm, email = '' } = request.body;
      // What was typed comes back, passwords excepted.
      const values = { username, email };
      const errors: Record<string, string> = {};
      // Whether the name is taken is left to `register`, which counts the attempt: this check
      // answers without touching the sign-up limit, so it must not tell which names exist.
      if (!isValidUsername(username)) errors.username = USERNAME_RULE;
      if (password !== password_confirm) errors.password_confirm = 'The passwords do not match.';
      if (email.trim() !== '' && !EMAIL_PATTERN.test(email.trim()))
        errors.email = 'This is not an email address.';
      const policy = accounts.policy(password, username);
      if (policy) errors.password = policy.message;
      if (Object.keys(errors).length > 0) return render(reply.code(400), { errors, values });
      const result = await accounts.register(
        { username, password, email: email.trim() || undefined },
        clientInfo(request),
      );
      if (!result.ok) {
        if (result.retryAfter) reply.header('retry-after', String(result.retryAfter));
        const status = result.status === 429 ? 429 : 400;
        if (result.field)
          return render(reply.code(status), { errors: { [result.field]: result.error }, values });
        return render(reply.code(status), { error: result.error, values });
      }
      setSessionCookie(reply, result.token, result.exp, false, secure);
      return reply.redirect(HOME, 303);
    },
  );

  app.post<{ Body: RegisterBody }>('/api/register', { schema: registerSchema }, async (request, reply) => {
    const result = await accounts.register(request.body, clientInfo(request));
    if (!result.ok) return sendFailure(reply, result);
    return reply
      .code(201)
      .send({ access_token: result.token, token_type: 'bearer', username: result.username });
  });
}
