import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { numberOf, openStream, openStuckStream } from './helpers.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap plus off-heap buffers after a full collection: what the process really holds on to. */
function retainedBytes(): number {
  gc();
  gc();
  const { heapUsed, external, arrayBuffers } = process.memoryUsage();
  return heapUsed + external + arrayBuffers;
}

test('a client that stops reading is dropped past SSE_MAX_BUFFERED_BYTES and memory stays flat', async (t) => {
  const cap = 256 * 1024;
  const { url, app } = await startApp(t, { SSE_MAX_BUFFERED_BYTES: String(cap) });
  const token = await apiToken(url);
  const healthy = await openStream(url, token, 'mark');
  t.after(() => healthy.close());

  // A raw socket that sends the request and then never reads another byte.
  const stuck = await openStuckStream(t, url, token, 'mark');
  assert.equal(app.events.connectionCount('mark'), 2);

  const before = retainedBytes();
  const payload = 'x'.repeat(100 * 1024);
  const count = 300; // ~30 MB in total: far more than the kernel's socket buffers can absorb.
  let received = 0;
  for (let n = 0; n < count; n++) {
    await app.events.publish('mark', { js: { n, payload } });
    // The healthy reader keeps up, so only the stuck client falls behind.
    while (received <= n) {
      assert.equal(numberOf(await healthy.next()), received);
      received++;
    }
  }
  assert.equal(app.events.connectionCount('mark'), 1, 'the stuck stream was dropped, the healthy one kept');
  const growth = retainedBytes() - before;
  assert.ok(growth < 8 * 1024 * 1024, `retained memory grew by ${(growth / 1048576).toFixed(1)} MiB`);

  // The stuck socket was closed by the server: once it reads again it sees the end.
  stuck.resume();
  await once(stuck, 'close');
});
