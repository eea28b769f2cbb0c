import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { tempSqliteUrl } from '../support/app.ts';
import { NODE, PROCESS_ENV, ROOT } from '../support/process.ts';

/** Runs the CLI's `list` (which opens and migrates the database first); its exit code and output. */
async function listUsers(databaseUrl: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(NODE, ['src/cli/main.ts', 'list'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...PROCESS_ENV, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

test('processes starting at once on a new SQLite file (WORKERS, instances, the CLI) each open and migrate it, none fails', async (t) => {
  // Switching a new file to WAL and running the migrations both need the write lock: without
  // turns, the losers failed with "database is locked", "table already exists" or a duplicate
  // migration row. Two rounds: the collision depends on timing.
  for (let round = 0; round < 2; round++) {
    const url = tempSqliteUrl(t);
    const runs = await Promise.all([1, 2, 3].map(() => listUsers(url)));
    for (const run of runs) assert.equal(run.code, 0, `round ${round}: ${run.output}`);
  }
});
