/** The mails accounts send, as plain text: links stay copyable and nothing needs a mail template engine. */
import type { Mail } from '../mail/mailer.ts';

const duration = (minutes: number) =>
  minutes % 60 === 0 ? `${minutes / 60} hour${minutes === 60 ? '' : 's'}` : `${Math.round(minutes)} minutes`;

export function verificationMail(to: string, username: string, link: string, hours: number): Mail {
  return {
    to,
    subject: 'Confirm your email address',
    text: [
      `Hello ${username},`,
      '',
      'Please confirm that this is your email address by opening this link and pressing "Confirm":',
      '',
      link,
      '',
      `The link works once and expires in ${duration(hours * 60)}. If you did not ask for this, ignore this mail.`,
    ].join('\n'),
  };
}

export function resetMail(to: string, username: string, link: string, minutes: number): Mail {
  return {
    to,
    subject: 'Reset your password',
    text: [
      `Hello ${username},`,
      '',
      'Someone (hopefully you) asked to reset the password of your account. Choose a new one here:',
      '',
      link,
      '',
      `The link works once and expires in ${duration(minutes)}. Every session of the account ends when`,
      'the password is reset. If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  };
}

export function passwordChangedMail(to: string, username: string): Mail {
  return {
    to,
    subject: 'Your password was changed',
    text: [
      `Hello ${username},`,
      '',
      'The password of your account was just changed, and every other session of it has ended.',
      'If this was not you, reset your password now with "Forgot your password?" on the login page.',
    ].join('\n'),
  };
}
