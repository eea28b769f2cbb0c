/**
 * The small counting interface features use (`app.metrics`), so nothing but this folder imports
 * prom-client. Every app has its own registry (tests build many apps in one process); with
 * METRICS_API_KEY unset nothing is registered at all and every call is a no-op.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { joinClusterMetrics } from './cluster-metrics.ts';

export type Labels = Record<string, string | number>;

export interface MetricCounter {
  inc(labels?: Labels, value?: number): void;
}

export interface MetricHistogram {
  observe(labels: Labels, value: number): void;
}

export interface Metrics {
  /** A counter (name ends in `_total`); asking twice for one name returns the same counter. */
  counter(name: string, help: string, labelNames?: readonly string[]): MetricCounter;
  /** A gauge whose value is read when scraped. */
  gauge(name: string, help: string, read: () => number): void;
  /** A histogram of seconds (or another unit, by `buckets`). */
  histogram(name: string, help: string, labelNames: readonly string[], buckets?: number[]): MetricHistogram;
  /** The Prometheus text exposition, and its content type; null when metrics are off. */
  expose(): Promise<{ body: string; contentType: string }> | null;
}

const NOOP_COUNTER: MetricCounter = { inc() {} };
const NOOP_HISTOGRAM: MetricHistogram = { observe() {} };

/** Metrics that cost nothing: METRICS_API_KEY is unset. */
export function createNoopMetrics(): Metrics {
  return {
    counter: () => NOOP_COUNTER,
    gauge() {},
    histogram: () => NOOP_HISTOGRAM,
    expose: () => null,
  };
}

/**
 * A registry with Node's default process metrics (event-loop lag, heap, GC, handles…). In a
 * cluster worker, `expose` answers with the sum over every worker (cluster-metrics.ts).
 */
export function createPrometheusMetrics(options: { clusterWorker?: boolean } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const fetchCluster = options.clusterWorker ? joinClusterMetrics(registry) : null;
  const counters = new Map<string, MetricCounter>();
  const histograms = new Map<string, MetricHistogram>();
  return {
    counter(name, help, labelNames = []) {
      let counter = counters.get(name);
      if (!counter) {
        const metric = new Counter({ name, help, labelNames, registers: [registry] });
        counter = { inc: (labels = {}, value = 1) => metric.inc(labels, value) };
        counters.set(name, counter);
      }
      return counter;
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    histogram(name, help, labelNames, buckets) {
      let histogram = histograms.get(name);
      if (!histogram) {
        const metric = new Histogram({
          name,
          help,
          labelNames,
          registers: [registry],
          ...(buckets ? { buckets } : {}),
        });
        histogram = { observe: (labels, value) => metric.observe(labels, value) };
        histograms.set(name, histogram);
      }
      return histogram;
    },
    async expose() {
      const body = fetchCluster ? await fetchCluster() : await registry.metrics();
      return { body, contentType: registry.contentType };
    },
  };
}
