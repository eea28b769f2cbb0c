/**
 * SSE wire framing (WHATWG HTML §9.2). Pure functions: every byte a stream sends is built here.
 * `data` is split on every line break so a payload can never end the event early or inject a
 * field; `id` and `event` may not contain CR or LF at all (a TypeError: it is a caller bug).
 */

export interface SseFrame {
  id?: string | number;
  event?: string;
  data?: string;
  retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;

export function formatEvent(frame: SseFrame): string {
  let out = '';
  if (frame.event !== undefined) out += `event: ${singleLine('event', frame.event)}\n`;
  if (frame.id !== undefined) out += `id: ${singleLine('id', String(frame.id))}\n`;
  if (frame.retry !== undefined) {
    if (!Number.isInteger(frame.retry) || frame.retry < 0)
      throw new TypeError('retry must be a non-negative integer');
    out += `retry: ${frame.retry}\n`;
  }
  if (frame.data !== undefined) {
    for (const line of frame.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}

/** A comment line: ignored by clients, keeps proxies and NATs from closing an idle stream. */
export function formatComment(text = ''): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

function singleLine(field: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`SSE ${field} must not contain CR, LF or NUL`);
  return value;
}
