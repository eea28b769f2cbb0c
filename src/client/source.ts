import { createStream, type Stream } from './stream.ts';

/** What a source reports to the page: every tab gets the same calls, leader or not. */
export interface SourceHandlers {
  /** One event (`message`, `auth`, `reload`, …) in stream order. */
  deliver(type: string, data: string): void;
  connected(): void;
  /** Return false to stop retrying (only the tab holding the stream is asked). */
  error(error: unknown, status: number): boolean;
  closed(): void;
}

/** One endpoint's connection, shared by every element (and, by default, every tab) that uses it. */
export interface Source {
  readonly url: string;
  /** The sx-connect elements using this endpoint; events are dispatched on the first. */
  readonly els: Set<Element>;
  /** Resume point: the id of the last event this tab saw. */
  lastId: string;
  /** True while this tab holds the HTTP stream (always, when not shared). */
  leader: boolean;
  readonly shared: boolean;
  start(): void;
  /** Ends the stream and gives up leadership; `start()` picks up again (pageshow, resume). */
  stop(): void;
  /** stop(), and forget the source. */
  close(): void;
  /**
   * For a session that ended: like close(), but a held leader lock is kept until the page goes.
   * Released now, another tab could win it before it hears the relayed `auth` and reconnect
   * with the dead credential.
   */
  end(): void;
  retryNow(): void;
  drop(): void;
}

/** Messages on the BroadcastChannel: a relayed event, the stream opened (or state for a newcomer), a newcomer asking. */
type Relay = { t: string; d: string; i: string } | { o: 1; i: string } | { q: 1 };

/**
 * Cross-tab sharing: tabs of one origin contend for a Web Lock named after the endpoint; the
 * holder opens the stream and relays each event on a BroadcastChannel, so N tabs use one
 * HTTP/1.1 connection instead of N of the six a browser allows per origin. When the leader tab
 * goes away the browser releases its lock, the next tab in the queue gets it and reconnects with
 * the last id it was relayed, so the server replays the gap. Tabs without Web Locks (insecure
 * origins) each keep their own stream.
 */
export function createSource(url: string, share: boolean, lastId: string, h: SourceHandlers): Source {
  let stream: Stream | undefined;
  let channel: BroadcastChannel | undefined;
  let waitForLock: AbortController | undefined;
  let releaseLock: (() => void) | undefined;
  let open = false;
  const name = `ssexi:${url}`;

  const receive = (type: string, data: string, id: string) => {
    source.lastId = id;
    if (type) h.deliver(type, data);
  };

  const openStream = (relay?: (message: Relay) => void) =>
    createStream(url, {
      lastId: () => source.lastId,
      open: () => {
        open = true;
        relay?.({ o: 1, i: source.lastId });
        h.connected();
      },
      event: (t, d, i) => {
        relay?.({ t, d, i });
        receive(t, d, i);
      },
      error: (error, status) => {
        open = false;
        return h.error(error, status);
      },
      // Reported like the server's own `auth` event, so every tab leaves the same way.
      denied: (status) => {
        const d = JSON.stringify({ reason: 'denied', status });
        relay?.({ t: 'auth', d, i: source.lastId });
        receive('auth', d, source.lastId);
      },
    });

  const start = () => {
    if (stream || channel) return;
    if (!source.shared) {
      source.leader = true;
      stream = openStream();
      return;
    }
    const ch = new BroadcastChannel(name);
    const wait = new AbortController();
    channel = ch;
    waitForLock = wait;
    ch.onmessage = ({ data: m }: MessageEvent<Relay>) => {
      if ('q' in m) {
        if (open) ch.postMessage({ o: 1, i: source.lastId });
      } else if (source.leader) {
        // Relays from the old leader still in flight after the takeover: the new stream started
        // from the id before them, so the server replays them; applying them here would repeat them.
      } else if ('o' in m) {
        source.lastId ||= m.i;
        h.connected();
      } else receive(m.t, m.d, m.i);
    };
    navigator.locks
      .request(name, { signal: wait.signal }, () =>
        // Held until stop(): returning a pending promise keeps the lock.
        wait.signal.aborted
          ? undefined
          : new Promise<void>((resolve) => {
              releaseLock = resolve;
              source.leader = true;
              stream = openStream((message) => ch.postMessage(message));
            }),
      )
      .catch(() => {});
    ch.postMessage({ q: 1 });
  };

  const stop = (keepLock?: boolean) => {
    waitForLock?.abort();
    if (!keepLock) releaseLock?.();
    stream?.close();
    channel?.close();
    stream = channel = waitForLock = releaseLock = undefined;
    source.leader = open = false;
  };

  const source: Source = {
    url,
    els: new Set(),
    lastId,
    leader: false,
    shared: share && !!navigator.locks,
    start,
    stop: () => stop(),
    close: () => {
      stop();
      h.closed();
    },
    end: () => {
      stop(true);
      h.closed();
    },
    retryNow: () => stream?.retryNow(),
    drop: () => stream?.drop(),
  };
  return source;
}
