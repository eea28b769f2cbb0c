import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  ConfigError,
  DEMO_USERS,
  loadConfig,
  parseBoolean,
  parseInitialUsers,
  parseWorkers,
} from './config.ts';

const STRONG_SECRET = 'a-random-production-secret-of-40-bytes!!';

/** The problems a ConfigError lists for `env`; fails the test if loading succeeds. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error.problems;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

test('an empty environment gives the seed defaults (DEBUG on, demo users, SQLite app.db, port 8080)', () => {
  const { secretKey, ...config } = loadConfig({});
  // No fixed fallback key (issue 9.7): a random one, different for every process.
  assert.match(secretKey, /^[\w-]{64}$/);
  assert.notEqual(loadConfig({}).secretKey, secretKey);
  assert.deepEqual(config, {
    debug: true,
    host: 'localhost',
    port: 8080,
    databaseUrl: 'sqlite:///./app.db',
    databaseConnectTimeoutSeconds: 5,
    databaseStatementTimeoutSeconds: 15,
    accessTokenExpireHours: 1,
    allowRegistration: true,
    passwordMinLength: 8,
    sessionMaxAgeDays: 30,
    sessionsMaxPerUser: 100,
    smtpUrl: null,
    mailFrom: 'auth-sse <no-reply@localhost>',
    publicUrl: 'http://localhost:8080',
    passwordResetMinutes: 30,
    emailVerificationHours: 24,
    registrationMaxPerIp: 10,
    passwordResetMaxPerIp: 20,
    mailMaxPerAccount: 5,
    bcryptRounds: 12,
    initialUsers: [...DEMO_USERS],
    redisUrl: null,
    redisKeyPrefix: null,
    publishApiKey: null,
    sseHeartbeatSeconds: 15,
    sseRetryMs: 2000,
    sseReplayLimit: 1000,
    sseReplayMaxAgeHours: 24,
    sseMaxStreamsPerUser: 16,
    sseMaxBufferedBytes: 1024 * 1024,
    sseLogMaxBytes: 1024 * 1024,
    sseReplayMaxBytes: 512 * 1024,
    ssePruneIntervalSeconds: 60,
    sseSessionCheckSeconds: 30,
    loginMaxFailuresPerAccount: 10,
    loginMaxFailuresPerIp: 100,
    loginWindowMinutes: 15,
    trustProxy: false,
    logLevel: 'info',
    apiDocs: true,
    workers: 1,
    metricsApiKey: null,
    coursesMaxPerUser: 500,
    requestTimeoutSeconds: 30,
  });
  assert.deepEqual(DEMO_USERS, [
    { username: 'mark', password: 'pass123' },
    { username: 'luke', password: 'pass456' },
  ]);
});

test('every variable is read', () => {
  const config = loadConfig({
    DEBUG: 'false',
    HOST: '0.0.0.0',
    PORT: '9000',
    SECRET_KEY: STRONG_SECRET,
    DATABASE_URL: 'postgres://u:p@db:5432/app',
    ACCESS_TOKEN_EXPIRE_HOURS: '2',
    ALLOW_REGISTRATION: 'true',
    PASSWORD_MIN_LENGTH: '12',
    SESSION_MAX_AGE_DAYS: '7.5',
    SESSIONS_MAX_PER_USER: '5',
    SMTP_URL: 'smtps://user:pass@mail.example.com:465',
    MAIL_FROM: 'Example <accounts@example.com>',
    PUBLIC_URL: 'https://app.example.com/base/',
    PASSWORD_RESET_MINUTES: '15',
    EMAIL_VERIFICATION_HOURS: '0.5',
    REGISTRATION_MAX_PER_IP: '3',
    PASSWORD_RESET_MAX_PER_IP: '4',
    MAIL_MAX_PER_ACCOUNT: '2',
    BCRYPT_ROUNDS: '10',
    INITIAL_USERS: 'admin:s3cret',
    REDIS_URL: 'redis://cache:6379',
    REDIS_KEY_PREFIX: 'myapp:',
    PUBLISH_API_KEY: '0123456789abcdef',
    SSE_HEARTBEAT_SECONDS: '0.5',
    SSE_RETRY_MS: '5000',
    SSE_REPLAY_LIMIT: '50',
    SSE_REPLAY_MAX_AGE_HOURS: '0.5',
    SSE_MAX_STREAMS_PER_USER: '4',
    SSE_MAX_BUFFERED_BYTES: '65536',
    SSE_LOG_MAX_BYTES: '200000',
    SSE_REPLAY_MAX_BYTES: '40000',
    SSE_PRUNE_INTERVAL_SECONDS: '30',
    SSE_SESSION_CHECK_SECONDS: '0.2',
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '5',
    LOGIN_MAX_FAILURES_PER_IP: '50',
    LOGIN_WINDOW_MINUTES: '30',
    TRUST_PROXY: 'yes',
    LOG_LEVEL: 'warn',
    API_DOCS: 'on',
    DATABASE_CONNECT_TIMEOUT_SECONDS: '2.5',
    DATABASE_STATEMENT_TIMEOUT_SECONDS: '30',
    WORKERS: '4',
    METRICS_API_KEY: 'metrics-key-0123456789',
    COURSES_MAX_PER_USER: '20',
    REQUEST_TIMEOUT_SECONDS: '5',
  });
  assert.deepEqual(config, {
    debug: false,
    host: '0.0.0.0',
    port: 9000,
    secretKey: STRONG_SECRET,
    databaseUrl: 'postgres://u:p@db:5432/app',
    databaseConnectTimeoutSeconds: 2.5,
    databaseStatementTimeoutSeconds: 30,
    accessTokenExpireHours: 2,
    allowRegistration: true,
    passwordMinLength: 12,
    sessionMaxAgeDays: 7.5,
    sessionsMaxPerUser: 5,
    smtpUrl: 'smtps://user:pass@mail.example.com:465',
    mailFrom: 'Example <accounts@example.com>',
    publicUrl: 'https://app.example.com/base',
    passwordResetMinutes: 15,
    emailVerificationHours: 0.5,
    registrationMaxPerIp: 3,
    passwordResetMaxPerIp: 4,
    mailMaxPerAccount: 2,
    bcryptRounds: 10,
    initialUsers: [{ username: 'admin', password: 's3cret' }],
    redisUrl: 'redis://cache:6379',
    redisKeyPrefix: 'myapp:',
    publishApiKey: '0123456789abcdef',
    sseHeartbeatSeconds: 0.5,
    sseRetryMs: 5000,
    sseReplayLimit: 50,
    sseReplayMaxAgeHours: 0.5,
    sseMaxStreamsPerUser: 4,
    sseMaxBufferedBytes: 65536,
    sseLogMaxBytes: 200000,
    sseReplayMaxBytes: 40000,
    ssePruneIntervalSeconds: 30,
    sseSessionCheckSeconds: 0.2,
    loginMaxFailuresPerAccount: 5,
    loginMaxFailuresPerIp: 50,
    loginWindowMinutes: 30,
    trustProxy: true,
    logLevel: 'warn',
    apiDocs: true,
    workers: 4,
    metricsApiKey: 'metrics-key-0123456789',
    coursesMaxPerUser: 20,
    requestTimeoutSeconds: 5,
  });
});

test('blank and whitespace-only values count as unset; values are trimmed', () => {
  const config = loadConfig({ PORT: '  ', HOST: ' 127.0.0.1 ', DATABASE_URL: '', DEBUG: ' ' });
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.databaseUrl, 'sqlite:///./app.db');
  assert.equal(config.debug, true);
});

test('DEBUG accepts the spellings Python and shells use, in any case', () => {
  for (const raw of ['true', 'True', 'TRUE', '1', 'yes', 'on', 'On'])
    assert.equal(loadConfig({ DEBUG: raw }).debug, true, raw);
  for (const raw of ['false', 'False', '0', 'no', 'off', 'OFF'])
    assert.equal(loadConfig({ DEBUG: raw, SECRET_KEY: STRONG_SECRET }).debug, false, raw);
  assert.deepEqual(problemsOf({ DEBUG: 'maybe' }), ['DEBUG must be true or false, got "maybe"']);
  assert.equal(parseBoolean(' Yes '), true);
  assert.equal(parseBoolean('2'), null);
});

test('ACCESS_TOKEN_EXPIRE_HOURS allows decimals; zero, negatives and words are refused', () => {
  assert.equal(loadConfig({ ACCESS_TOKEN_EXPIRE_HOURS: '0.25' }).accessTokenExpireHours, 0.25);
  assert.equal(loadConfig({ ACCESS_TOKEN_EXPIRE_HOURS: '1.5' }).accessTokenExpireHours, 1.5);
  for (const raw of ['0', '-1', 'one', '1h', 'NaN', 'Infinity', '9000']) {
    const [problem] = problemsOf({ ACCESS_TOKEN_EXPIRE_HOURS: raw });
    assert.match(problem ?? '', /^ACCESS_TOKEN_EXPIRE_HOURS must be a number between/, raw);
    assert.ok(problem?.includes(`"${raw}"`), 'the message quotes the bad value');
  }
});

test('integer variables refuse decimals and out-of-range values', () => {
  assert.match(problemsOf({ PORT: '80.5' })[0] ?? '', /^PORT must be an integer between 0 and 65535/);
  assert.match(problemsOf({ PORT: '70000' })[0] ?? '', /^PORT must be an integer/);
  assert.match(
    problemsOf({ BCRYPT_ROUNDS: '3' })[0] ?? '',
    /^BCRYPT_ROUNDS must be an integer between 4 and 31/,
  );
  assert.match(problemsOf({ BCRYPT_ROUNDS: '32' })[0] ?? '', /^BCRYPT_ROUNDS/);
  assert.equal(loadConfig({ PORT: '0' }).port, 0, 'port 0 (any free port) is allowed');
});

test('heartbeats must come well inside the 45 s after which SSEXI.js declares a stream dead', () => {
  assert.equal(loadConfig({ SSE_HEARTBEAT_SECONDS: '30' }).sseHeartbeatSeconds, 30);
  assert.match(
    problemsOf({ SSE_HEARTBEAT_SECONDS: '45' })[0] ?? '',
    /^SSE_HEARTBEAT_SECONDS must be a number between 0.05 and 30/,
  );
});

test('SSE_SESSION_CHECK_SECONDS allows decimals from 0.05 to 3600', () => {
  assert.equal(loadConfig({ SSE_SESSION_CHECK_SECONDS: '0.05' }).sseSessionCheckSeconds, 0.05);
  assert.equal(loadConfig({ SSE_SESSION_CHECK_SECONDS: '3600' }).sseSessionCheckSeconds, 3600);
  for (const raw of ['0', '0.01', '-5', '3601', 'soon']) {
    const [problem] = problemsOf({ SSE_SESSION_CHECK_SECONDS: raw });
    assert.match(problem ?? '', /^SSE_SESSION_CHECK_SECONDS must be a number between 0.05 and 3600/, raw);
  }
});

test('INITIAL_USERS replaces the demo users; empty entries are skipped', () => {
  assert.deepEqual(loadConfig({ INITIAL_USERS: 'ann:pw1, bob:p:w:2 ,' }).initialUsers, [
    { username: 'ann', password: 'pw1' },
    { username: 'bob', password: 'p:w:2' },
  ]);
  assert.deepEqual(parseInitialUsers(' , '), []);
  assert.deepEqual(loadConfig({ DEBUG: 'false', SECRET_KEY: STRONG_SECRET }).initialUsers, []);
});

test('INITIAL_USERS errors name the variable and the bad entry', () => {
  const cases: [string, RegExp][] = [
    ['ann', /must look like "name:password,name2:password2", got "ann"/],
    [':pw', /got ":pw"/],
    ['ann:', /got "ann:"/],
    ['bad name:pw', /invalid username "bad name"/],
    [`ann:${'x'.repeat(73)}`, /password for "ann" longer than 72 bytes/],
    ['ann:a,ann:b', /lists "ann" twice/],
  ];
  for (const [raw, message] of cases) {
    const problems = problemsOf({ INITIAL_USERS: raw });
    assert.equal(problems.length, 1, raw);
    assert.match(problems[0] ?? '', /^INITIAL_USERS /);
    assert.match(problems[0] ?? '', message);
  }
});

test('DEBUG=false refuses a missing, published or weak SECRET_KEY, naming it', () => {
  assert.deepEqual(problemsOf({ DEBUG: 'false' }), ['SECRET_KEY must be set when DEBUG is false']);
  for (const known of ['your_secret_key_here', 'CHANGEME', 'dev-secret-change-me'])
    assert.match(
      problemsOf({ DEBUG: 'false', SECRET_KEY: known })[0] ?? '',
      /^SECRET_KEY is a published default/,
    );
  const weak: Record<string, RegExp> = {
    short: /at least 32 bytes/,
    ['a'.repeat(32)]: /too little variety/,
    ['ab'.repeat(16)]: /too little variety/,
    ['abcdefghij'.repeat(4)]: /one short block repeated/,
    abcdefghijklmnopqrstuvwxyz012345: /run of consecutive characters/,
    '1234567890123456789012345678901234567890': /repeated/,
  };
  for (const [key, problem] of Object.entries(weak)) {
    const [found = ''] = problemsOf({ DEBUG: 'false', SECRET_KEY: key });
    assert.match(found, /^SECRET_KEY /, key);
    assert.match(found, problem, key);
  }
  // What the README suggests, and other random keys, pass.
  for (const key of [
    randomBytes(48).toString('base64'),
    randomBytes(32).toString('hex'),
    randomBytes(16).toString('hex'),
    STRONG_SECRET,
  ])
    assert.equal(loadConfig({ DEBUG: 'false', SECRET_KEY: key }).secretKey, key);
});

test('a published SECRET_KEY is refused with DEBUG on too; other keys are up to DEBUG', () => {
  assert.match(
    problemsOf({ SECRET_KEY: 'dev-secret-change-me' })[0] ?? '',
    /^SECRET_KEY is a published default/,
  );
  assert.match(
    problemsOf({ SECRET_KEY: 'Your_Secret_Key_Here' })[0] ?? '',
    /^SECRET_KEY is a published default/,
  );
  assert.equal(loadConfig({ SECRET_KEY: 'short' }).secretKey, 'short');
});

test('the byte limits, the course cap and the request timeout are checked', () => {
  assert.match(
    problemsOf({ SSE_LOG_MAX_BYTES: '100' })[0] ?? '',
    /^SSE_LOG_MAX_BYTES must be an integer between 1024/,
  );
  assert.match(problemsOf({ SSE_REPLAY_MAX_BYTES: 'lots' })[0] ?? '', /^SSE_REPLAY_MAX_BYTES must be/);
  assert.match(
    problemsOf({ SSE_MAX_BUFFERED_BYTES: '65536', SSE_REPLAY_MAX_BYTES: '65537' })[0] ?? '',
    /^SSE_REPLAY_MAX_BYTES must not exceed SSE_MAX_BUFFERED_BYTES/,
  );
  assert.equal(
    loadConfig({ SSE_MAX_BUFFERED_BYTES: '65536', SSE_REPLAY_MAX_BYTES: '65536' }).sseReplayMaxBytes,
    65536,
  );
  // Unset, it follows the send buffer: half of it, like the largest message.
  assert.equal(loadConfig({ SSE_MAX_BUFFERED_BYTES: '65536' }).sseReplayMaxBytes, 32768);
  assert.match(
    problemsOf({ COURSES_MAX_PER_USER: '0' })[0] ?? '',
    /^COURSES_MAX_PER_USER must be an integer between 1/,
  );
  assert.match(
    problemsOf({ REQUEST_TIMEOUT_SECONDS: '0.5' })[0] ?? '',
    /^REQUEST_TIMEOUT_SECONDS must be an integer/,
  );
});

test('DATABASE_URL, REDIS_URL, PUBLISH_API_KEY and LOG_LEVEL are checked', () => {
  for (const url of [
    'sqlite:///./app.db',
    'sqlite:////abs/app.db',
    'postgresql+psycopg2://u@h/db',
    'postgres://h/db',
  ])
    assert.equal(loadConfig({ DATABASE_URL: url }).databaseUrl, url);
  assert.match(
    problemsOf({ DATABASE_URL: 'mysql://h/db' })[0] ?? '',
    /^DATABASE_URL must be a sqlite:\/\/\/ or postgres:\/\/ URL/,
  );
  assert.match(problemsOf({ REDIS_URL: 'http://cache' })[0] ?? '', /^REDIS_URL must start with redis:\/\//);
  assert.equal(loadConfig({ REDIS_URL: 'rediss://cache:6380' }).redisUrl, 'rediss://cache:6380');
  assert.match(problemsOf({ PUBLISH_API_KEY: 'short' })[0] ?? '', /^PUBLISH_API_KEY must be at least 16/);
  assert.match(problemsOf({ LOG_LEVEL: 'verbose' })[0] ?? '', /^LOG_LEVEL must be one of/);
});

test('every problem is reported at once, each naming its variable', () => {
  let error: unknown;
  try {
    loadConfig({
      DEBUG: 'false',
      PORT: 'http',
      BCRYPT_ROUNDS: '2',
      INITIAL_USERS: 'x',
      DATABASE_URL: 'mongo://',
    });
  } catch (caught) {
    error = caught;
  }
  assert.ok(error instanceof ConfigError);
  const names = error.problems.map((p) => p.split(' ')[0]).sort();
  assert.deepEqual(names, ['BCRYPT_ROUNDS', 'DATABASE_URL', 'INITIAL_USERS', 'PORT', 'SECRET_KEY']);
  for (const problem of error.problems) assert.ok(error.message.includes(problem));
  assert.match(error.message, /^Invalid configuration:\n {2}- /);
});

test('API_DOCS follows DEBUG unless set; a bad value is refused by name', () => {
  assert.equal(loadConfig({}).apiDocs, true);
  assert.equal(loadConfig({ DEBUG: 'false', SECRET_KEY: STRONG_SECRET }).apiDocs, false);
  assert.equal(loadConfig({ DEBUG: 'false', SECRET_KEY: STRONG_SECRET, API_DOCS: 'true' }).apiDocs, true);
  assert.equal(loadConfig({ API_DOCS: 'false' }).apiDocs, false);
  assert.throws(() => loadConfig({ API_DOCS: 'maybe' }), /API_DOCS must be true or false/);
});

test('WORKERS takes a count or "auto" (one per core); anything else is refused, naming it', () => {
  assert.equal(parseWorkers(undefined, 8), 1);
  assert.equal(parseWorkers('auto', 8), 8);
  assert.equal(parseWorkers('AUTO', 1), 1);
  assert.equal(parseWorkers('3', 8), 3);
  for (const bad of ['0', '-1', '1.5', 'many', '257'])
    assert.match(problemsOf({ WORKERS: bad, REDIS_URL: 'redis://cache:6379' }).join('\n'), /^WORKERS /);
  assert.equal(loadConfig({ WORKERS: '1' }).workers, 1, 'one process needs no Redis');
});

test('WORKERS above 1 without REDIS_URL refuses to start, naming REDIS_URL', () => {
  const [problem] = problemsOf({ WORKERS: '2' });
  assert.match(problem ?? '', /WORKERS.*REDIS_URL/);
  assert.equal(loadConfig({ WORKERS: 'auto', REDIS_URL: 'redis://cache:6379' }).workers >= 1, true);
});

test('METRICS_API_KEY and the database timeouts are checked', () => {
  assert.match(problemsOf({ METRICS_API_KEY: 'short' }).join('\n'), /METRICS_API_KEY must be at least 16/);
  assert.match(
    problemsOf({ DATABASE_CONNECT_TIMEOUT_SECONDS: '0' }).join('\n'),
    /DATABASE_CONNECT_TIMEOUT_SECONDS/,
  );
  assert.match(
    problemsOf({ DATABASE_STATEMENT_TIMEOUT_SECONDS: 'x' }).join('\n'),
    /DATABASE_STATEMENT_TIMEOUT_SECONDS/,
  );
});

test('accounts: registration follows DEBUG unless set; PUBLIC_URL follows PORT', () => {
  assert.equal(loadConfig({ DEBUG: 'false', SECRET_KEY: STRONG_SECRET }).allowRegistration, false);
  assert.equal(loadConfig({ ALLOW_REGISTRATION: 'false' }).allowRegistration, false);
  assert.equal(loadConfig({ PORT: '3000' }).publicUrl, 'http://localhost:3000');
  assert.equal(loadConfig({ PUBLIC_URL: 'https://example.com/' }).publicUrl, 'https://example.com');
});

test('accounts variables are checked, each problem naming its variable', () => {
  const problems = problemsOf({
    ALLOW_REGISTRATION: 'sometimes',
    PASSWORD_MIN_LENGTH: '6',
    SESSION_MAX_AGE_DAYS: '0',
    SESSIONS_MAX_PER_USER: '0',
    SMTP_URL: 'http://mail.example.com',
    MAIL_FROM: 'nobody',
    PUBLIC_URL: 'ftp://example.com',
    PASSWORD_RESET_MINUTES: '0',
    EMAIL_VERIFICATION_HOURS: 'soon',
    REGISTRATION_MAX_PER_IP: '0',
    PASSWORD_RESET_MAX_PER_IP: '-1',
    MAIL_MAX_PER_ACCOUNT: '1.5',
  });
  const names = [
    'ALLOW_REGISTRATION',
    'PASSWORD_MIN_LENGTH',
    'SESSION_MAX_AGE_DAYS',
    'SESSIONS_MAX_PER_USER',
    'SMTP_URL',
    'MAIL_FROM',
    'PUBLIC_URL',
    'PASSWORD_RESET_MINUTES',
    'EMAIL_VERIFICATION_HOURS',
    'REGISTRATION_MAX_PER_IP',
    'PASSWORD_RESET_MAX_PER_IP',
    'MAIL_MAX_PER_ACCOUNT',
  ];
  assert.equal(problems.length, names.length, problems.join('\n'));
  for (const name of names)
    assert.ok(
      problems.some((p) => p.startsWith(`${name} `)),
      `${name} is named in: ${problems.join('; ')}`,
    );
  assert.ok(problemsOf({ PUBLIC_URL: 'https://example.com/?q=1' })[0]?.startsWith('PUBLIC_URL'));
  assert.ok(problemsOf({ PASSWORD_MIN_LENGTH: '73' })[0]?.startsWith('PASSWORD_MIN_LENGTH'));
});
