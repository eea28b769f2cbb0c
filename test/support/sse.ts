import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';

export interface SseClient {
  response: Response;
  /** The next parsed event (heartbeat comments are not events); rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<EventSourceMessage>;
  /** Collects the next `count` events. */
  take(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  /** The `retry:` value the server sent, once seen. */
  readonly retry: number | undefined;
  /** Comments seen so far (heartbeats). */
  readonly comments: string[];
  /** Resolves once `count` comments in all have arrived; rejects after `timeoutMs`. */
  waitForComments(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/**
 * Opens an SSE stream with fetch and parses it with eventsource-parser (a real, spec-following
 * parser). Throws if the response is not a 200 event stream; use `fetch` directly for error codes.
 */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  if (response.status !== 200 || !response.body) {
    controller.abort();
    throw new Error(`expected a stream, got ${response.status}: ${await response.text().catch(() => '')}`);
  }
  const queue: EventSourceMessage[] = [];
  const waiters: ((event: EventSourceMessage | null) => void)[] = [];
  const comments: string[] = [];
  const commentWaiters = new Set<() => void>();
  let retry: number | undefined;
  let done = false;
  const stream = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(
    new EventSourceParserStream({
      onComment: (comment) => {
        comments.push(comment);
        for (const waiter of commentWaiters) waiter();
      },
      onRetry: (value) => {
        retry = value;
      },
    }),
  );
  const ended = (async () => {
    try {
      for await (const event of stream) {
        const waiter = waiters.shift();
        if (waiter) waiter(event);
        else queue.push(event);
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      for (const waiter of waiters.splice(0)) waiter(null);
    }
  })();

  const next = (timeoutMs = 5000) =>
    new Promise<EventSourceMessage>((resolve, reject) => {
      const queued = queue.shift();
      if (queued) return resolve(queued);
      if (done) return reject(new Error('stream ended'));
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (event: EventSourceMessage | null) => {
        clearTimeout(timer);
        if (event) resolve(event);
        else reject(new Error('stream ended'));
      };
      waiters.push(waiter);
    });

  return {
    response,
    next,
    async take(count, timeoutMs) {
      const events: EventSourceMessage[] = [];
      for (let i = 0; i < count; i++) events.push(await next(timeoutMs));
      return events;
    },
    get retry() {
      return retry;
    },
    comments,
    waitForComments: (count, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          commentWaiters.delete(check);
          reject(new Error(`${comments.length} of ${count} comments within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (comments.length < count) return;
          clearTimeout(timer);
          commentWaiters.delete(check);
          resolve();
        };
        commentWaiters.add(check);
        check();
      }),
    ended,
    close: () => controller.abort(),
  };
}
