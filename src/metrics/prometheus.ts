/**
 * The Prometheus implementation of `Metrics` (metrics.ts), in a module of its own so that
 * prom-client (and the OpenTelemetry API it brings) loads only when METRICS_API_KEY is set.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { joinClusterMetrics } from './cluster-metrics.ts';
import type { MetricCounter, MetricHistogram, Metrics } from './metrics.ts';

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
