import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import type { EventSourceMessage } from 'eventsource-parser';
import { apiToken } from '../support/http.ts';
import { openSse, type SseClient } from '../support/sse.ts';

/** Opens `username`'s stream with a bearer token, resuming after `lastEventId` when given. */
export function openStream(
  base: string,
  token: string,
  username: string,
  resume?: { lastEventId: string | number; via?: 'header' | 'query' },
): Promise<SseClient> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let path = `/protected/events/${username}`;
  if (resume?.via === 'query') path += `?lastEventId=${resume.lastEventId}`;
  else if (resume) headers['last-event-id'] = String(resume.lastEventId);
  return openSse(new URL(path, base).href, headers);
}

/**
 * Opens a stream the way a reconnecting client does: a 502/503/504 (no event bus on this
 * instance right now, or a proxy with no instance to reach) is retried after a short pause, up
 * to `attempts` times.
 */
export async function openStreamRetrying(
  base: string,
  token: string,
  username: string,
  resume?: { lastEventId: string | number },
  attempts = 100,
): Promise<SseClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStream(base, token, username, resume);
    } catch (error) {
      if (attempt >= attempts || !(error instanceof Error) || !/got 50[234]/.test(error.message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Bearer tokens for the demo users. */
export async function demoTokens(base: string): Promise<{ mark: string; luke: string }> {
  const [mark, luke] = await Promise.all([
    apiToken(base, 'mark', 'pass123'),
    apiToken(base, 'luke', 'pass456'),
  ]);
  return { mark, luke };
}

/** The `n` of a message built by `numbered(n)`. */
export function numberOf(event: EventSourceMessage): number {
  const message = JSON.parse(event.data) as { js: { n: number } };
  return message.js.n;
}

/** A small message that carries a sequence number, for ordering assertions. */
export const numbered = (n: number) => ({ js: { n } });

/** Asserts nothing arrives on `stream` for `ms` (a short, bounded negative check). */
export async function expectSilence(stream: SseClient, ms = 300): Promise<void> {
  const event = await stream.next(ms).catch(() => null);
  if (event) throw new Error(`unexpected event: ${event.event ?? 'message'} ${event.data}`);
}

/** Closes every stream when the test ends. */
export function closeAll(streams: SseClient[]): () => void {
  return () => {
    for (const stream of streams) stream.close();
  };
}

/** Resolves when the server ends `stream`; rejects if it is still open after `timeoutMs`. */
export async function ended(stream: SseClient, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stream still open after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([stream.ended, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A client that opens `username`'s stream over a raw socket and then stops reading: it waits for
 * the response's first bytes (the server has registered the stream by then: it writes them in
 * the same turn) and pauses. Destroyed after the test.
 */
export async function openStuckStream(
  t: TestContext,
  base: string,
  token: string,
  username: string,
): Promise<Socket> {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(
    `GET /protected/events/${username} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  const [head] = (await once(socket, 'data')) as [Buffer];
  if (!head.toString('latin1').startsWith('HTTP/1.1 200')) throw new Error(`no stream: ${head}`);
  socket.pause();
  return socket;
}
