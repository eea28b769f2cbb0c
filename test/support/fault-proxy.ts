import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * What a cut looks like: `refuse` resets every open connection and refuses new ones (a server
 * that died or restarted, a failover in progress); `hang` is a partition — open connections go
 * silent without being closed and new ones are accepted but never answered, the case only
 * timeouts and health checks can detect.
 */
export type CutMode = 'refuse' | 'hang';

export interface FaultProxy {
  /** `host:port` of the proxy, to put in the app's DATABASE_URL or REDIS_URL instead of the target. */
  readonly hostPort: string;
  /** Connections currently forwarded (or held, while hanging). */
  readonly openConnections: number;
  /** Connections accepted since the proxy started. */
  readonly accepted: number;
  /** Fails every open connection and treats new ones as `mode` says, until `restore()`. */
  cut(mode?: CutMode): void;
  /**
   * Forwards new connections again (the cut ones stay cut, as after a real outage). Connections a
   * `hang` silenced are reset by default, as when the peer answers their next packet with a RST;
   * `{ silenced: 'keep' }` leaves them silent for good, as when the host behind them died without
   * a word (its replacement never heard of them): only the app's own timeouts can find them.
   */
  restore(options?: { silenced?: 'reset' | 'keep' }): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in the test process, between the app and PostgreSQL or Redis, that can fail the
 * way networks and servers do — without touching the shared services other tests use.
 */
export async function startFaultProxy(
  t: TestContext,
  target: { host: string; port: number },
): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket | null]>();
  let mode: CutMode | null = null;
  /** Upstream sides of connections a `hang` cut silenced. */
  const frozen = new Set<Socket | null>();
  let accepted = 0;

  const server: Server = createServer((client) => {
    accepted++;
    client.on('error', () => {});
    if (mode === 'refuse') return client.resetAndDestroy();
    if (mode === 'hang') {
      const held: [Socket, Socket | null] = [client, null];
      pairs.add(held);
      client.on('close', () => pairs.delete(held));
      return;
    }
    const upstream = tcpConnect(target.port, target.host);
    const pair: [Socket, Socket | null] = [client, upstream];
    pairs.add(pair);
    upstream.on('error', () => client.destroy());
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');

  const proxy: FaultProxy = {
    hostPort: `127.0.0.1:${address.port}`,
    get openConnections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    cut(next = 'refuse') {
      mode = next;
      for (const pair of [...pairs]) {
        const [client, upstream] = pair;
        if (next === 'hang') {
          // Silence, not closure: bytes sent either way are swallowed, nobody is told.
          client.unpipe();
          upstream?.unpipe();
          client.removeAllListeners('data').on('data', () => {});
          upstream?.removeAllListeners('data').on('data', () => {});
          pairs.delete(pair);
          pairs.add([client, null]);
          frozen.add(upstream);
        } else {
          // RST, not FIN: peers see ECONNRESET at once, as when a server host dies mid-conversation.
          client.resetAndDestroy();
          upstream?.resetAndDestroy();
          pairs.delete(pair);
        }
      }
    },
    restore({ silenced = 'reset' } = {}) {
      mode = null;
      if (silenced === 'keep') return;
      // Connections held silent stay dead, as after a partition their peers have given up on.
      for (const [client, upstream] of [...pairs]) if (upstream === null) client.resetAndDestroy();
      for (const upstream of frozen) upstream?.resetAndDestroy();
      frozen.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut('refuse');
        for (const upstream of frozen) upstream?.resetAndDestroy();
        frozen.clear();
        server.close(() => resolve());
      }),
  };
  t.after(() => proxy.close());
  return proxy;
}

/** `url` with its host and port replaced by the proxy's: the app then reaches the target through it. */
export function throughProxy(url: string, proxy: FaultProxy): string {
  const parsed = new URL(url);
  parsed.host = proxy.hostPort;
  return parsed.toString();
}
