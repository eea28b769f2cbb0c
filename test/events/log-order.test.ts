import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BACKENDS, setupBackend } from '../support/backends.ts';

/**
 * The property every resume relies on: a reader that has seen id N will never later see an id
 * below N. Here many appends race from two app instances (two connection pools) while a reader
 * polls "everything after the last id I saw"; it must end up with every id. On PostgreSQL this
 * fails without the append lock, because sequence ids are taken before commit. (On SQLite, whose
 * writers queue on one lock, the appends race through one instance.)
 */
for (const backend of BACKENDS) {
  describe(`event log on ${backend}`, () => {
    test('a reader polling after its last seen id misses nothing while appends race', async (t) => {
      const setup = await setupBackend(t, backend);
      if (!setup) return;
      // One SQLite file is shared by processes, never by two apps in one process: there the second
      // connection's busy wait (node:sqlite is synchronous) would stall the first mid-transaction.
      const a = await setup.start();
      const b = backend === 'sqlite' ? a : await setup.start();
      const writers = [a.app.events.log, b.app.events.log];
      const reader = a.app.events.log;
      const total = 400;

      let done = false;
      const appending = (async () => {
        const ids: number[] = [];
        for (let round = 0; round < total / 40; round++) {
          const batch = await Promise.all(
            Array.from({ length: 40 }, (_, i) => writers[i % 2]?.append('mark', `{"n":${round * 40 + i}}`)),
          );
          for (const event of batch) if (event) ids.push(event.id);
        }
        done = true;
        return ids;
      })();

      const seen: number[] = [];
      let last = 0;
      for (;;) {
        const finished = done;
        const { events } = await reader.readAfter(['mark'], last, 10_000);
        for (const event of events) seen.push(event.id);
        last = events.at(-1)?.id ?? last;
        if (finished) break;
      }
      const appended = await appending;
      assert.equal(new Set(appended).size, total);
      assert.deepEqual(
        seen,
        [...appended].sort((x, y) => x - y),
      );
    });
  });
}
