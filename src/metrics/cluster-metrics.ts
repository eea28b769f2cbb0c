/**
 * Metrics under `WORKERS`: the workers share one port, so a scrape reaches whichever worker the
 * primary hands the connection to. Each would report only itself, and the figures would jump
 * between scrapes. Instead the worker that gets the scrape asks the primary, which collects every
 * worker's registry over IPC (prom-client's AggregatorRegistry) and answers with the sum (the
 * event-loop lag is averaged); so a scrape of an instance is the instance, whatever its workers.
 */
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'auth-sse:metrics-request';
const RESPONSE = 'auth-sse:metrics-response';
/** prom-client gives up on a silent worker after 5 s; this covers that plus the IPC round trip. */
const TIMEOUT_MS = 6000;

interface MetricsResponse {
  type: typeof RESPONSE;
  id: number;
  body?: string;
  error?: string;
}

const isMessage = (message: unknown, type: string): message is { type: string; id: number } =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

/**
 * In the primary: answers workers' requests with the figures of every worker. A worker may die
 * while its figures are being collected (collecting waits up to 5 s for a silent one): its answer
 * is then dropped, since a send to a worker that is gone emits an 'error' nothing would catch,
 * ending the primary and with it every worker.
 */
export function serveClusterMetrics(log: Logger): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage(message, REQUEST)) return;
    log.debug({ workerPid: worker.process.pid }, 'collecting metrics for a scrape');
    const reply = (answer: Omit<MetricsResponse, 'type' | 'id'>) => {
      if (!worker.isConnected()) return;
      worker.send({ type: RESPONSE, id: message.id, ...answer } satisfies MetricsResponse, (error) => {
        if (error) log.warn({ err: error, workerPid: worker.process.pid }, 'could not answer a scrape');
      });
    };
    aggregator.clusterMetrics().then(
      (body) => reply({ body }),
      (error: unknown) => {
        log.warn({ err: error }, 'collecting metrics from the workers failed');
        reply({ error: String(error) });
      },
    );
  });
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns the function that
 * fetches the whole cluster's figures.
 */
export function joinClusterMetrics(registry: Registry): () => Promise<string> {
  new AggregatorRegistry(); // installs this worker's answer to the primary's collection
  AggregatorRegistry.setRegistries([registry]);
  const waiting = new Map<number, (response: MetricsResponse) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (isMessage(message, RESPONSE)) waiting.get(message.id)?.(message as MetricsResponse);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the cluster primary did not answer with metrics'));
      }, TIMEOUT_MS);
      waiting.set(id, (response) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (response.body !== undefined) resolve(response.body);
        else reject(new Error(response.error ?? 'no metrics'));
      });
      // With the primary gone, a send without a callback would throw an 'error' into the process.
      process.send?.({ type: REQUEST, id }, undefined, undefined, (error: Error | null) => {
        if (!error) return;
        clearTimeout(timer);
        waiting.delete(id);
        reject(error);
      });
    });
}
