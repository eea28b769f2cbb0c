/** How the bench reaches each server: stream URLs and credentials, checked before load starts. */
import type { StreamSpec } from '../clients/sse-client.ts';
import type { ServerKind, ServerProcess } from './server-process.ts';

/** One stream per account: bench<i> with its token (the app) or just its name (the baseline). */
export function streamSpecs(kind: ServerKind, tokens: readonly string[]): StreamSpec[] {
  return tokens.map(
    (token, i): StreamSpec =>
      kind === 'app'
        ? { path: `/protected/events/bench${i}`, headers: { authorization: `Bearer ${token}` } }
        : { path: `/events/bench${i}`, headers: {} },
  );
}

/** Fetches `path` and throws unless it answers `status` (load against an error page proves nothing). */
export async function expectStatus(
  server: ServerProcess,
  path: string,
  headers: Record<string, string>,
  status = 200,
): Promise<Response> {
  const response = await fetch(`${server.url}${path}`, { headers, redirect: 'manual' });
  if (response.status !== status)
    throw new Error(`${server.kind} ${path} answered ${response.status}, expected ${status}`);
  return response;
}

/** Stops every server even when one stop fails. */
export async function stopAll(servers: (ServerProcess | undefined)[]): Promise<void> {
  await Promise.allSettled(servers.map((server) => server?.stop()));
}
