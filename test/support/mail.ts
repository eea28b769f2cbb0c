/**
 * A real SMTP server in the test process (the `smtp-server` package) that the app sends to through
 * SMTP_URL; each received mail is parsed by `mailparser`, as a mail client would read it.
 */
import type { TestContext } from 'node:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
}

export interface MailServer {
  /** For SMTP_URL. */
  url: string;
  /** Every mail received so far. */
  readonly received: ReceivedMail[];
  /** The next mail to `to` not yet taken; rejects after `timeoutMs`. */
  next(to: string, timeoutMs?: number): Promise<ReceivedMail>;
}

export async function startMailServer(t: TestContext): Promise<MailServer> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail: ParsedMail) => {
          const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
          received.push({
            to: to?.value[0]?.address ?? '',
            subject: mail.subject ?? '',
            text: mail.text ?? '',
          });
          for (const waiter of waiters) waiter();
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    received,
    next: (to, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const mail = received.find((m) => m.to === to && !taken.has(m));
          if (!mail) return;
          taken.add(mail);
          waiters.delete(check);
          clearTimeout(timer);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no mail to ${to} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

/** The first link in a mail's text that starts with `base`. */
export function linkIn(mail: ReceivedMail, base: string): string {
  const link = mail.text.split(/\s+/).find((word) => word.startsWith(base));
  if (!link) throw new Error(`no ${base} link in: ${mail.text}`);
  return link;
}
