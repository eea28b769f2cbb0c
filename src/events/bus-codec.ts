import type { BusMessage } from './types.ts';

/**
 * Wire format of bus messages on the Redis channel. Events are written by the append script
 * (src/events/redis-scripts.ts) as `e\n<id>\n<createdAt>\n<recipient>\n<data>` — plain
 * concatenation, because Lua's JSON encoder prints large integers in exponent form. Recipients
 * never contain a line break (the publish API refuses them), and `data` comes last so it may.
 * Everything else is `j\n<json>`.
 */
export function encodeBusMessage(message: BusMessage): string {
  if (message.kind === 'event') {
    const { id, createdAt, recipient, data } = message.event;
    return `e\n${id}\n${createdAt}\n${recipient}\n${data}`;
  }
  return `j\n${JSON.stringify(message)}`;
}

/** The message a payload carries, or null for anything malformed (logged by the caller). */
export function decodeBusMessage(payload: string): BusMessage | null {
  if (payload.startsWith('e\n')) {
    const parts = payload.split('\n');
    if (parts.length < 5) return null;
    const id = Number(parts[1]);
    const createdAt = Number(parts[2]);
    const recipient = parts[3] ?? '';
    if (!Number.isSafeInteger(id) || id < 1 || !Number.isFinite(createdAt) || recipient === '') return null;
    const data = parts.slice(4).join('\n');
    return { kind: 'event', event: { id, createdAt, recipient, data } };
  }
  if (payload.startsWith('j\n')) {
    try {
      const message = JSON.parse(payload.slice(2)) as BusMessage;
      if (message.kind === 'reset' || message.kind === 'event' || typeof message.username !== 'string')
        return null;
      if (message.kind === 'session-renewed' && !Number.isSafeInteger(message.expiresAt)) return null;
      if (['session-ended', 'session-renewed', 'user-changed'].includes(message.kind)) return message;
    } catch {
      return null;
    }
  }
  return null;
}
