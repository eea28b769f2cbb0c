import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempSqliteUrl } from '../support/app.ts';
import { isRunning, listeningUrl, PROCESS_ENV, spawnServer } from '../support/process.ts';

test('SIGTERM to `npm start` reaches the server: it shuts down cleanly instead of staying orphaned', async (t) => {
  const npm = spawnServer(
    t,
    { ...PROCESS_ENV, DATABASE_URL: tempSqliteUrl(t) },
    { file: 'npm', args: ['start'] },
  );
  const listening = await npm.waitFor((line) => /listening at/.test(String(line.msg)), 30_000);
  const url = listeningUrl(listening);
  const serverPid = Number(listening.pid);
  // Should the test fail, the orphan it found must not outlive it.
  t.after(() => {
    if (isRunning(serverPid)) process.kill(serverPid, 'SIGKILL');
  });
  assert.notEqual(serverPid, npm.child.pid, 'the server is npm’s child, not npm');
  assert.equal((await fetch(`${url}/healthz`)).status, 200);

  npm.child.kill('SIGTERM');
  await npm.waitFor((line) => line.msg === 'shut down cleanly' && line.pid === serverPid);
  await npm.exited;
  await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
  for (let i = 0; i < 100 && isRunning(serverPid); i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(isRunning(serverPid), false, 'no orphaned server process');
});
