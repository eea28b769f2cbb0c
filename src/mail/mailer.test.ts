import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { createMailer } from './mailer.ts';

/** A logger that keeps what it is given. */
function recordingLog() {
  const lines: { level: string; obj: unknown; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg: string) => lines.push({ level, obj, msg });
  const log = { info: at('info'), warn: at('warn'), error: at('error') } as unknown as FastifyBaseLogger;
  return { log, lines };
}

const MAIL = {
  to: 'alice@example.com',
  subject: 'Reset your password',
  text: 'Open http://x/reset-password?token=secret',
};

test('without SMTP_URL, DEBUG writes each mail, link included, to the log', async () => {
  const { log, lines } = recordingLog();
  const mailer = createMailer({ smtpUrl: null, mailFrom: 'a@b.c', debug: true }, log);
  mailer.send(MAIL);
  await mailer.idle();
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.level, 'info');
  assert.deepEqual(lines[0]?.obj, { mail: MAIL });
  assert.match(lines[0]?.msg ?? '', /alice@example.com/);
});

test('without SMTP_URL outside DEBUG, a mail is dropped with a warning that holds no link', async () => {
  const { log, lines } = recordingLog();
  const mailer = createMailer({ smtpUrl: null, mailFrom: 'a@b.c', debug: false }, log);
  mailer.send(MAIL);
  await mailer.close();
  assert.equal(lines[0]?.level, 'warn');
  assert.doesNotMatch(JSON.stringify(lines), /token=secret/);
});

test('a failed delivery is logged, never thrown', async () => {
  const { log, lines } = recordingLog();
  // Nothing listens on port 1.
  const mailer = createMailer({ smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'a@b.c', debug: false }, log);
  assert.doesNotThrow(() => mailer.send(MAIL));
  await mailer.close();
  assert.equal(lines.at(-1)?.level, 'error');
  assert.match(lines.at(-1)?.msg ?? '', /sending mail failed/);
});
