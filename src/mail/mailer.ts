/**
 * Outgoing mail. With SMTP_URL, through nodemailer's SMTP transport (MAIL_FROM as sender).
 * Without it, in DEBUG, each mail is written to the log so a developer can click its link; outside
 * DEBUG it is dropped with a warning that names no link (links in logs would be credentials).
 * Sending never holds up an answer: `send` queues and returns, failures are logged, and close
 * waits for what is in flight. Holding no answer also keeps "is there an account for this
 * address?" out of response times.
 */
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Queues a mail; never throws, never waits. */
  send(mail: Mail): void;
  /** Resolves when every queued mail has been handed over (or failed). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createMailer(
  config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'debug'>,
  log: FastifyBaseLogger,
): Mailer {
  const transport = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : null;
  const pending = new Set<Promise<void>>();
  const deliver = async (mail: Mail) => {
    if (transport) {
      await transport.sendMail({
        from: config.mailFrom,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
      });
      log.info({ to: mail.to, subject: mail.subject }, 'mail sent');
    } else if (config.debug) {
      log.info({ mail }, `mail to ${mail.to} (SMTP_URL is not set; DEBUG writes mails to the log)`);
    } else {
      log.warn({ to: mail.to, subject: mail.subject }, 'mail dropped: SMTP_URL is not set');
    }
  };
  return {
    send(mail) {
      const sending: Promise<void> = deliver(mail)
        .catch((err: unknown) =>
          log.error({ err, to: mail.to, subject: mail.subject }, 'sending mail failed'),
        )
        .finally(() => pending.delete(sending));
      pending.add(sending);
    },
    async idle() {
      while (pending.size > 0) await Promise.all(pending);
    },
    async close() {
      while (pending.size > 0) await Promise.all(pending);
      transport?.close();
    },
  };
}
