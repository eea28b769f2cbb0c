/**
 * Incremental `text/event-stream` parser (WHATWG HTML §9.2.6) for text chunks that may split
 * lines anywhere. Written out instead of depending on a parser package because it is ~40 lines
 * minified and the core has a 4 KB budget.
 */

/** `type` is `message` unless the event was named; `id` is the last event id after this event. */
export type SseEventHandler = (type: string, data: string, id: string) => void;

/**
 * Returns a function to feed decoded text into; `lastId` is the id the connection resumed from. Blocks without data dispatch nothing except a
 * changed id, which is reported as type `''` so a resume point is never lost.
 */
export function createSseParser(onEvent: SseEventHandler, onRetry: (ms: number) => void, lastId = '') {
  let buffer = '';
  let skipLf = false;
  let type = '';
  let data = '';
  // The last event id outlives a connection (spec): events without an `id:` keep the previous one.
  let id = lastId;
  let idChanged = false;

  const line = (text: string) => {
    if (text === '') {
      if (data !== '') onEvent(type || 'message', data.slice(0, -1), id);
      else if (idChanged) onEvent('', '', id);
      type = data = '';
      idChanged = false;
      return;
    }
    const colon = text.indexOf(':');
    if (colon === 0) return; // comment (heartbeat)
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') type = value;
    else if (field === 'id' && !value.includes('\0')) {
      idChanged ||= id !== value;
      id = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) onRetry(+value);
  };

  return (chunk: string) => {
    // A CR ending one chunk and an LF starting the next are one line break, not two.
    if (skipLf && chunk[0] === '\n') chunk = chunk.slice(1);
    skipLf = chunk.endsWith('\r');
    const lines = (buffer + chunk).split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const text of lines) line(text);
  };
}
