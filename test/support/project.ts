/** A throw-away copy of the project, for tests that edit source files as a developer would. */
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Copies what the app needs to run (sharing node_modules) to a temp folder, removed after the test. */
export async function copyProject(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'auth-sse-copy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const entry of ['src', 'scripts', 'public', 'package.json'])
    await cp(join(ROOT, entry), join(dir, entry), { recursive: true });
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** A TCP port nothing listens on right now (for a child process that must be told its port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return address.port;
}
