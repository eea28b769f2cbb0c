/**
 * Publishes bench messages over HTTP from its own process, open-loop at a fixed rate: to the
 * app's `POST /api/events` (bearer PUBLISH_API_KEY) or the baseline's `POST /publish`. Each
 * message carries the time its request was started, so receivers time publish→receive.
 */
import { Agent, request } from 'node:http';
import { monotonicMs } from '../lib/stats.ts';
import { benchMessage, type PublishArgs, publishPaced } from '../servers/ipc.ts';

export interface PublisherJob extends PublishArgs {
  port: number;
  path: string;
  headers: Record<string, string>;
  /** The status every publish must answer. */
  status: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function post(job: PublisherJob, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: job.port,
        path: job.path,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...job.headers,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === job.status ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

process.once('message', async (job: PublisherJob) => {
  const pad = 'x'.repeat(job.padBytes);
  const failed = await publishPaced(job, (recipient, n) =>
    post(job, JSON.stringify({ to: `bench${recipient}`, message: benchMessage(n, monotonicMs(), pad) })),
  );
  process.send?.({ failed }, () => process.exit(0));
});
