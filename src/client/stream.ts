import { createSseParser } from './sse-parser.ts';

/** Backoff never waits longer than this between attempts (unless the server's `retry:` is longer). */
const MAX_DELAY_MS = 30_000;

/**
 * A stream silent this long is taken for dead (a lost TCP connection can stay "open" for hours)
 * and reopened from its last id. Three of the server's default 15 s heartbeats.
 */
export const IDLE_TIMEOUT_MS = 45_000;

/**
 * Exponential backoff with full jitter: a uniform pick in [0, min(cap, base·2^attempt)], so a
 * server that restarts is not hit by every client at the same instant. `base` is the server's
 * `retry:` value, which also raises the cap when it is larger.
 */
export function backoffDelay(attempt: number, base: number, random = Math.random()): number {
  return random * Math.min(Math.max(MAX_DELAY_MS, base), base * 2 ** attempt);
}

export interface StreamHandlers {
  /** The resume point sent as `Last-Event-ID` ('' for "from now"). */
  lastId(): string;
  open(): void;
  event(type: string, data: string, id: string): void;
  /** A failed attempt or a dropped stream; return false to stop retrying. */
  error(error: unknown, status: number): boolean;
  /** 401/403: the credential is gone; retrying cannot help, so the stream stops. */
  denied(status: number): void;
}

export interface Stream {
  /** Skips the backoff wait when one is running (the network came back, the tab became visible). */
  retryNow(): void;
  /** Drops the current response (known dead, e.g. the browser went offline) and backs off. */
  drop(): void;
  close(): void;
}

/**
 * A reconnecting SSE reader over fetch. Unlike EventSource it sees the HTTP status, so an auth
 * failure ends the stream instead of being retried forever, and it controls its own backoff.
 */
export function createStream(url: string, handlers: StreamHandlers, idleMs = IDLE_TIMEOUT_MS): Stream {
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let waiting = false;
  let closed = false;
  let attempt = 0;
  let retry = 1000;

  const schedule = (error: unknown, status: number) => {
    if (closed) return;
    if (!handlers.error(error, status)) return close();
    waiting = true;
    timer = setTimeout(connect, backoffDelay(attempt++, retry));
  };

  const connect = async () => {
    clearTimeout(timer);
    waiting = false;
    controller?.abort();
    const current = new AbortController();
    controller = current;
    let status = 0;
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      const lastId = handlers.lastId();
      if (lastId) headers['last-event-id'] = lastId;
      const response = await fetch(url, {
        headers,
        cache: 'no-store',
        credentials: 'same-origin',
        signal: current.signal,
      });
      status = response.status;
      if (status === 401 || status === 403) {
        close();
        return handlers.denied(status);
      }
      // 204 is the spec's "stop reconnecting"; other 4xx will not heal by retrying either.
      if (status === 204 || (status >= 400 && status < 500 && status !== 408 && status !== 429)) {
        handlers.error(new Error(`HTTP ${status}`), status);
        return close();
      }
      const body = response.body;
      if (!response.ok || !body || !response.headers.get('content-type')?.startsWith('text/event-stream'))
        throw new Error(`HTTP ${status}`);
      attempt = 0;
      handlers.open();
      const feed = createSseParser(
        handlers.event,
        (ms) => {
          retry = ms;
        },
        lastId,
      );
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        clearTimeout(idle);
        idle = setTimeout(drop, idleMs);
        const { done, value } = await reader.read();
        if (done) break;
        feed(value);
      }
      throw new Error('stream ended');
    } catch (error) {
      if (current === controller && !current.signal.aborted) schedule(error, status);
    }
    if (current === controller) clearTimeout(idle);
  };

  const close = () => {
    closed = true;
    clearTimeout(timer);
    clearTimeout(idle);
    controller?.abort();
  };

  const drop = () => {
    if (waiting || closed) return;
    controller?.abort();
    schedule(new Error('stream lost'), 0);
  };

  connect();
  return {
    retryNow: () => {
      if (waiting) connect();
    },
    drop,
    close,
  };
}
