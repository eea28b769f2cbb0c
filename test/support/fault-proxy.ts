import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * How the proxy treats new connections while it is cut: `refuse` closes them at once (a stopped
 * server, a failover in progress); `hang` accepts them and never answers (a black-holed network,
 * the case only timeouts can end).
 */
export type CutMode = 'refuse' | 'hang';

export interface FaultProxy {
  /** `host:port` of the proxy, to put in the app's DATABASE_URL or REDIS_URL instead of the target. */
  readonly hostPort: string;
  /** Connections currently forwarded (or held, while hanging). */
  readonly openConnections: number;
  /** Connections accepted since the proxy started. */
  readonly accepted: number;
  /** Resets every open connection and treats new ones as `mode` says, until `restore()`. */
  cut(mode?: CutMode): void;
  /** Forwards new connections again (the cut ones stay cut, as after a real outage). */
  restore(): void;
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
      // RST, not FIN: peers see ECONNRESET at once, as when a server host dies mid-conversation.
      for (const [client, upstream] of [...pairs]) {
        client.resetAndDestroy();
        upstream?.resetAndDestroy();
      }
      pairs.clear();
    },
    restore() {
      mode = null;
      for (const [client, upstream] of [...pairs]) if (upstream === null) client.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut('refuse');
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
