/**
 * Building and checking SSEXI messages (the JSON in each event's `data`). Pure functions.
 *
 * `html(id, content)` sends content as HTML, unescaped: that is the protocol. Build content from
 * untrusted values with the `safeHtml` tag, which escapes every interpolated value (nested
 * `safeHtml` results and arrays of them are kept as they are).
 */
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { SseMessage, SwapMode } from '../client/protocol.ts';

export type { SseMessage, SwapMode };

const SWAP_MODES = ['inner', 'outer', 'append', 'prepend', 'before', 'after', 'remove', 'morph'] as const;

/** JSON schema of a message: the route's body schema and `publish`'s check. */
export const SseMessageSchema = Type.Object(
  {
    html: Type.Optional(
      Type.Record(
        // Element ids: non-empty, no whitespace (HTML's rule), bounded.
        Type.String({ pattern: '^\\S{1,200}$' }),
        Type.Union([
          Type.String(),
          Type.Object(
            {
              content: Type.Optional(Type.String()),
              swap: Type.Optional(Type.Union(SWAP_MODES.map((mode) => Type.Literal(mode)))),
            },
            { additionalProperties: false },
          ),
        ]),
        { additionalProperties: false },
      ),
    ),
    js: Type.Optional(Type.Object({ exec: Type.Optional(Type.String()) }, { additionalProperties: true })),
  },
  { additionalProperties: false, minProperties: 1 },
);

// Compile-time proof that every schema-valid message is an SseMessage.
const _schemaFitsProtocol = (message: Static<typeof SseMessageSchema>): SseMessage => message;
void _schemaFitsProtocol;

const checker = TypeCompiler.Compile(SseMessageSchema);

/** A message that is not an SSEXI message. */
export class InvalidMessageError extends Error {
  readonly statusCode = 400;
  readonly code = 'INVALID_MESSAGE';
  constructor(problem: string) {
    super(`Invalid message: ${problem}`);
    this.name = 'InvalidMessageError';
  }
}

/** A message too large to ever fit a stream's send buffer (it would drop every client forever). */
export class MessageTooLargeError extends Error {
  readonly statusCode = 413;
  readonly code = 'MESSAGE_TOO_LARGE';
  constructor(bytes: number, max: number) {
    super(`Message is ${bytes} bytes; the limit is ${max}`);
    this.name = 'MessageTooLargeError';
  }
}

/** Why `value` is not a valid message, or null when it is. */
export function messageProblem(value: unknown): string | null {
  if (checker.Check(value)) return null;
  const first = checker.Errors(value).First();
  return first ? `${first.path || '/'} ${first.message}` : 'not a message';
}

/** Recipients are usernames or `*`: no whitespace or control characters (they name Redis keys). */
export function isRecipient(to: string): boolean {
  return /^[^\s\p{Cc}]{1,150}$/u.test(to);
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** HTML that is already safe: produced by `safeHtml`, so it is not escaped again. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

function interpolate(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Tagged template: ``safeHtml`<li>${title}</li>` `` escapes `title`; arrays are joined. */
export function safeHtml(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += interpolate(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Puts `content` into the element with this id (`swap` picks how; default: the seed's rule). */
export function html(id: string, content: string | SafeHtml, swap?: SwapMode): SseMessage {
  const text = String(content);
  return { html: { [id]: swap === undefined ? text : { content: text, swap } } };
}

/** Runs `code` in the page (as a nonce-carrying script, so it works under a strict CSP). */
export function exec(code: string): SseMessage {
  return { js: { exec: code } };
}

/** Sets `window[name] = value` for each entry. `exec` is refused: use `exec()` to run code. */
export function vars(values: Record<string, unknown>): SseMessage {
  if (Object.hasOwn(values, 'exec')) throw new TypeError('vars() cannot set "exec"; use exec() to run code');
  return { js: { ...values } };
}

/** Merges messages into one (later ones win on the same target or name). */
export function combine(...messages: SseMessage[]): SseMessage {
  const out: SseMessage = {};
  for (const message of messages) {
    if (message.html) out.html = { ...out.html, ...message.html };
    if (message.js) out.js = { ...out.js, ...message.js };
  }
  return out;
}
