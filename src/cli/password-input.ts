/**
 * Reading a password without it landing in shell history or on screen: from a terminal it is
 * typed with echo off (and asked twice); from a pipe (`echo pw | npm run cli -- add bob`) the
 * first line of stdin is the password.
 */
import type { ReadStream } from 'node:tty';

export class PasswordInputError extends Error {
  readonly code: 'cancelled' | 'mismatch' | 'no-input';
  constructor(code: PasswordInputError['code'], message: string) {
    super(message);
    this.name = 'PasswordInputError';
    this.code = code;
  }
}

/** Reads a new password from stdin: prompted twice on a TTY, else the first piped line. */
export async function readNewPassword(
  prompt: string,
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!stdin.isTTY) return readFirstLine(stdin);
  const tty = stdin as ReadStream;
  const first = await readHidden(tty, stderr, prompt);
  const second = await readHidden(tty, stderr, 'Repeat it: ');
  if (first !== second) throw new PasswordInputError('mismatch', 'The passwords did not match.');
  return first;
}

/** The first line of a piped stdin, without its line ending. */
export async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (/\r|\n/.test(text)) break;
  }
  const line = /^[^\r\n]*/.exec(text)?.[0] ?? '';
  if (text === '') throw new PasswordInputError('no-input', 'No password on stdin.');
  return line;
}

/** One line typed in raw mode, echoing nothing; Ctrl-C or Ctrl-D cancel. */
function readHidden(stdin: ReadStream, out: NodeJS.WriteStream, prompt: string): Promise<string> {
  // Echo goes off before the prompt appears: anything typed (or pasted) after it stays hidden.
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  out.write(prompt);
  let typed = '';
  return new Promise((resolve, reject) => {
    const finish = (error: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      out.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish(null);
        if (char === '\u0003' || char === '\u0004')
          return finish(new PasswordInputError('cancelled', 'Cancelled.'));
        if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += char;
      }
    };
    stdin.on('data', onData);
  });
}
