/**
 * Environment → typed, validated configuration. Read once at start-up; handlers never touch
 * `process.env`. Every bad variable is reported (all at once, each naming the variable), so a
 * misconfigured deploy fails fast instead of half-working.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { checkNewPassword } from './auth/passwords.ts';
import { isValidUsername } from './auth/users.ts';
import { DEV_SECRET_KEY_FILE, isPublishedKey, secretKeyProblem } from './secret-key.ts';

export interface InitialUser {
  username: string;
  password: string;
}

export interface Config {
  debug: boolean;
  host: string;
  port: number;
  secretKey: string;
  databaseUrl: string;
  /** How long a query waits for a database connection before answering 503. */
  databaseConnectTimeoutSeconds: number;
  /** PostgreSQL `statement_timeout`: a slower query is cancelled (503). */
  databaseStatementTimeoutSeconds: number;
  /** Idle timeout: a session unused this long ends (tokens live this long, renewed while in use). */
  accessTokenExpireHours: number;
  /** Accounts: sign-up, password policy, session cap, mail (src/accounts/, src/mail/). */
  allowRegistration: boolean;
  passwordMinLength: number;
  /** Absolute cap on a session however much it is used; renewals never pass it. */
  sessionMaxAgeDays: number;
  /** Running sessions one account may hold; a sign-in past it ends the least recently used. */
  sessionsMaxPerUser: number;
  smtpUrl: string | null;
  mailFrom: string;
  /** Origin (and optional path prefix) links in mails point at; no trailing slash. */
  publicUrl: string;
  passwordResetMinutes: number;
  emailVerificationHours: number;
  registrationMaxPerIp: number;
  passwordResetMaxPerIp: number;
  mailMaxPerAccount: number;
  bcryptRounds: number;
  initialUsers: InitialUser[];
  redisUrl: string | null;
  /** Namespace for the event log and bus keys in Redis; null derives one per deployment. */
  redisKeyPrefix: string | null;
  publishApiKey: string | null;
  sseHeartbeatSeconds: number;
  sseRetryMs: number;
  sseReplayLimit: number;
  sseReplayMaxAgeHours: number;
  sseMaxStreamsPerUser: number;
  sseMaxBufferedBytes: number;
  /** Bytes of messages the log keeps per recipient (a user, or `*`); older ones are dropped. */
  sseLogMaxBytes: number;
  /** Bytes one resume may replay; a client further behind is told to reload. */
  sseReplayMaxBytes: number;
  ssePruneIntervalSeconds: number;
  /** How often open streams' credentials are re-checked against the database. */
  sseSessionCheckSeconds: number;
  loginMaxFailuresPerAccount: number;
  loginMaxFailuresPerIp: number;
  loginWindowMinutes: number;
  trustProxy: boolean;
  logLevel: string;
  /** Serve the OpenAPI document (`/openapi.json`) and its browser (`/docs`). */
  apiDocs: boolean;
  /** Server processes (node:cluster); more than one needs Redis. */
  workers: number;
  /** Enables `GET /metrics` (bearer); null leaves the route out. */
  metricsApiKey: string | null;
  /** Courses one user may have. */
  coursesMaxPerUser: number;
  /** How long a client may take to send a whole request (headers and body). */
  requestTimeoutSeconds: number;
}

/** The seed's demo accounts, created only in DEBUG unless INITIAL_USERS says otherwise. */
export const DEMO_USERS: readonly InitialUser[] = [
  { username: 'mark', password: 'pass123' },
  { username: 'luke', password: 'pass456' },
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/** Parses and validates the environment. Throws one ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = parseBoolean(raw);
    if (value === null) problems.push(`${name} must be true or false, got "${raw}"`);
    return value ?? fallback;
  };
  const num = (name: string, fallback: number, opts: { min: number; max?: number; integer?: boolean }) => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const { min, max = Number.MAX_SAFE_INTEGER, integer = true } = opts;
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      const kind = integer ? 'an integer' : 'a number';
      problems.push(`${name} must be ${kind} between ${min} and ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };

  const debug = bool('DEBUG', true);

  // Published keys (a template's placeholder, this project's former development key) are
  // refused in every mode: anyone could mint tokens. Production keys must also look random.
  const secretKey = read('SECRET_KEY');
  if (secretKey !== undefined && isPublishedKey(secretKey))
    problems.push(
      `SECRET_KEY is a published default; set a random value (or, with DEBUG on, leave it unset to use ${DEV_SECRET_KEY_FILE})`,
    );
  else if (!debug) {
    const problem = secretKey === undefined ? null : secretKeyProblem(secretKey);
    if (secretKey === undefined) problems.push('SECRET_KEY must be set when DEBUG is false');
    else if (problem !== null) problems.push(`SECRET_KEY ${problem}; use e.g. \`openssl rand -base64 48\``);
  }

  let initialUsers: InitialUser[] = debug ? [...DEMO_USERS] : [];
  const rawUsers = read('INITIAL_USERS');
  if (rawUsers !== undefined) {
    const parsed = parseInitialUsers(rawUsers);
    if (typeof parsed === 'string') problems.push(`INITIAL_USERS ${parsed}`);
    else initialUsers = parsed;
  }

  const databaseUrl = read('DATABASE_URL') ?? 'sqlite:///./app.db';
  if (!/^(sqlite|postgres(ql)?)(\+\w+)?:/i.test(databaseUrl))
    problems.push(`DATABASE_URL must be a sqlite:/// or postgres:// URL, got "${databaseUrl}"`);

  const redisUrl = read('REDIS_URL') ?? null;
  if (redisUrl !== null && !/^rediss?:\/\//i.test(redisUrl))
    problems.push(`REDIS_URL must start with redis:// or rediss://, got "${redisUrl}"`);

  const publishApiKey = read('PUBLISH_API_KEY') ?? null;
  if (publishApiKey !== null && publishApiKey.length < 16)
    problems.push('PUBLISH_API_KEY must be at least 16 characters');

  const metricsApiKey = read('METRICS_API_KEY') ?? null;
  if (metricsApiKey !== null && metricsApiKey.length < 16)
    problems.push('METRICS_API_KEY must be at least 16 characters');

  const workers = parseWorkers(read('WORKERS'), availableParallelism());
  if (typeof workers === 'string') problems.push(`WORKERS ${workers}`);
  else if (workers > 1 && redisUrl === null)
    problems.push(
      'WORKERS above 1 needs REDIS_URL: streams and publishes must reach every process (set REDIS_URL, or WORKERS=1)',
    );

  const port = num('PORT', 8080, { min: 0, max: 65535 });
  const smtpUrl = read('SMTP_URL') ?? null;
  if (smtpUrl !== null && !/^smtps?:\/\/[^/]/i.test(smtpUrl))
    problems.push('SMTP_URL must start with smtp:// or smtps://');
  const mailFrom = read('MAIL_FROM') ?? 'auth-sse <no-reply@localhost>';
  if (!/^[^@\s<>]+@[^@\s<>]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+>$/.test(mailFrom))
    problems.push(`MAIL_FROM must be an address or "Name <address>", got "${mailFrom}"`);
  const publicUrl = parsePublicUrl(read('PUBLIC_URL') ?? `http://localhost:${port}`);
  if (publicUrl === null)
    problems.push('PUBLIC_URL must be an http:// or https:// URL without query or fragment');

  // A replay is written to the socket at once: past the send-buffer cap it would drop the client
  // every time it resumed.
  const sseMaxBufferedBytes = num('SSE_MAX_BUFFERED_BYTES', 1024 * 1024, { min: 1024, max: 1024 ** 3 });
  const sseReplayMaxBytes = num('SSE_REPLAY_MAX_BYTES', Math.floor(sseMaxBufferedBytes / 2), {
    min: 1024,
    max: 1024 ** 3,
  });
  if (sseReplayMaxBytes > sseMaxBufferedBytes)
    problems.push(
      `SSE_REPLAY_MAX_BYTES must not exceed SSE_MAX_BUFFERED_BYTES (${sseMaxBufferedBytes}), got "${sseReplayMaxBytes}"`,
    );

  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const config: Config = {
    debug,
    host: read('HOST') ?? 'localhost',
    port,
    // Without a key (DEBUG only; the entry points read .dev-secret-key first), a random one for
    // this process: tokens then end with it, which is safe, unlike any fixed fallback.
    secretKey: secretKey ?? randomBytes(48).toString('base64url'),
    databaseUrl,
    databaseConnectTimeoutSeconds: num('DATABASE_CONNECT_TIMEOUT_SECONDS', 5, {
      min: 0.05,
      max: 300,
      integer: false,
    }),
    databaseStatementTimeoutSeconds: num('DATABASE_STATEMENT_TIMEOUT_SECONDS', 15, {
      min: 0.05,
      max: 3600,
      integer: false,
    }),
    accessTokenExpireHours: num('ACCESS_TOKEN_EXPIRE_HOURS', 1, {
      min: 0.001,
      max: 24 * 365,
      integer: false,
    }),
    allowRegistration: bool('ALLOW_REGISTRATION', debug),
    // NIST SP 800-63B: at least 8; bcrypt reads at most 72 bytes.
    passwordMinLength: num('PASSWORD_MIN_LENGTH', 8, { min: 8, max: 64 }),
    sessionMaxAgeDays: num('SESSION_MAX_AGE_DAYS', 30, { min: 0.00001, max: 3650, integer: false }),
    sessionsMaxPerUser: num('SESSIONS_MAX_PER_USER', 100, { min: 1, max: 100_000 }),
    smtpUrl,
    mailFrom,
    publicUrl: publicUrl ?? '',
    passwordResetMinutes: num('PASSWORD_RESET_MINUTES', 30, { min: 1, max: 24 * 60 }),
    emailVerificationHours: num('EMAIL_VERIFICATION_HOURS', 24, { min: 0.01, max: 24 * 30, integer: false }),
    registrationMaxPerIp: num('REGISTRATION_MAX_PER_IP', 10, { min: 1, max: 1_000_000 }),
    passwordResetMaxPerIp: num('PASSWORD_RESET_MAX_PER_IP', 20, { min: 1, max: 1_000_000 }),
    mailMaxPerAccount: num('MAIL_MAX_PER_ACCOUNT', 5, { min: 1, max: 1_000_000 }),
    bcryptRounds: num('BCRYPT_ROUNDS', 12, { min: 4, max: 31 }),
    initialUsers,
    redisUrl,
    redisKeyPrefix: read('REDIS_KEY_PREFIX') ?? null,
    publishApiKey,
    // SSEXI.js treats 45 s of silence as a dead connection: heartbeats must come well before that.
    sseHeartbeatSeconds: num('SSE_HEARTBEAT_SECONDS', 15, { min: 0.05, max: 30, integer: false }),
    sseRetryMs: num('SSE_RETRY_MS', 2000, { min: 100, max: 600_000 }),
    sseReplayLimit: num('SSE_REPLAY_LIMIT', 1000, { min: 1, max: 10_000_000 }),
    sseReplayMaxAgeHours: num('SSE_REPLAY_MAX_AGE_HOURS', 24, { min: 0.001, max: 24 * 365, integer: false }),
    sseMaxStreamsPerUser: num('SSE_MAX_STREAMS_PER_USER', 16, { min: 1, max: 100_000 }),
    sseMaxBufferedBytes,
    sseLogMaxBytes: num('SSE_LOG_MAX_BYTES', 1024 * 1024, { min: 1024, max: 1024 ** 3 }),
    sseReplayMaxBytes,
    ssePruneIntervalSeconds: num('SSE_PRUNE_INTERVAL_SECONDS', 60, {
      min: 0.05,
      max: 86_400,
      integer: false,
    }),
    // Bounds how long a stream outlives a credential ended out of band (CLI without Redis,
    // another tool writing the database); each check is two batched queries per instance.
    sseSessionCheckSeconds: num('SSE_SESSION_CHECK_SECONDS', 30, { min: 0.05, max: 3600, integer: false }),
    loginMaxFailuresPerAccount: num('LOGIN_MAX_FAILURES_PER_ACCOUNT', 10, { min: 1, max: 1_000_000 }),
    loginMaxFailuresPerIp: num('LOGIN_MAX_FAILURES_PER_IP', 100, { min: 1, max: 1_000_000 }),
    loginWindowMinutes: num('LOGIN_WINDOW_MINUTES', 15, { min: 1, max: 24 * 60 }),
    trustProxy: bool('TRUST_PROXY', false),
    logLevel,
    apiDocs: bool('API_DOCS', debug),
    workers: typeof workers === 'number' ? workers : 1,
    metricsApiKey,
    coursesMaxPerUser: num('COURSES_MAX_PER_USER', 500, { min: 1, max: 1_000_000 }),
    requestTimeoutSeconds: num('REQUEST_TIMEOUT_SECONDS', 30, { min: 1, max: 3600 }),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** `https://example.com/app/` → `https://example.com/app`; null unless an http(s) URL with no query or fragment. */
export function parsePublicUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || raw.includes('#'))
    return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Accepts the spellings Python's config and shells use (`True`, `1`, `yes`, `on`…). */
export function parseBoolean(raw: string): boolean | null {
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return null;
}

/** `WORKERS`: a count, or `auto` for one per core; a problem description on bad input. */
export function parseWorkers(raw: string | undefined, cores: number): number | string {
  if (raw === undefined) return 1;
  if (raw.toLowerCase() === 'auto') return Math.max(1, cores);
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 256)
    return `must be a number of processes between 1 and 256, or "auto", got "${raw}"`;
  return Number(raw);
}

/** `name:password,name2:password2` → users; returns a problem description on bad input. */
export function parseInitialUsers(raw: string): InitialUser[] | string {
  const users: InitialUser[] = [];
  for (const entry of raw.split(',')) {
    const pair = entry.trim();
    if (pair === '') continue;
    const colon = pair.indexOf(':');
    const username = pair.slice(0, colon).trim();
    const password = pair.slice(colon + 1);
    if (colon < 1 || password === '') return `must look like "name:password,name2:password2", got "${pair}"`;
    if (!isValidUsername(username)) return `has an invalid username "${username}" (letters, digits, _ . -)`;
    if (checkNewPassword(password)) return `has a password for "${username}" longer than 72 bytes`;
    if (users.some((u) => u.username === username)) return `lists "${username}" twice`;
    users.push({ username, password });
  }
  return users;
}
