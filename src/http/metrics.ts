// Prometheus metrics at /metrics: requests by route pattern, method and status with their latency, the compiled-topology
// cache, and Node's own process metrics (event-loop delay, heap, GC, CPU). Route patterns, not URLs, are the labels, so
// that topology names and query strings never make new series.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Histogram({
    name: 'pathtrace_http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status, and how long they took',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly traces = new Counter({
    name: 'pathtrace_traces_total',
    help: 'Flows traced, by the disposition of their answer',
    labelNames: ['disposition'] as const,
    registers: [this.registry],
  });
  readonly compileSeconds = new Histogram({
    name: 'pathtrace_compile_duration_seconds',
    help: 'Time to compile a topology revision into the traced model',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly compiledNetns = new Histogram({
    name: 'pathtrace_compile_netns',
    help: 'Network namespaces in each compiled topology revision',
    buckets: [10, 100, 1_000, 10_000, 50_000, 100_000, 200_000],
    registers: [this.registry],
  });
  readonly cacheLookups = new Counter({
    name: 'pathtrace_compiled_cache_lookups_total',
    help: 'Lookups of compiled topology revisions, by whether they were held (hit) or compiled (miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly cacheBytes = new Gauge({
    name: 'pathtrace_compiled_cache_bytes',
    help: 'Heap taken by the compiled topology revisions the workers hold',
    registers: [this.registry],
  });
  readonly queued = new Gauge({
    name: 'pathtrace_worker_queue_length',
    help: 'Requests waiting for a worker thread',
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: 'pathtrace_worker_jobs_running',
    help: 'Requests a worker thread is working on',
    registers: [this.registry],
  });

  /** Counts the flows of one answer (a single trace, or a batch's byDisposition). */
  traced(byDisposition: Readonly<Record<string, number>>): void {
    for (const [disposition, n] of Object.entries(byDisposition)) this.traces.inc({ disposition }, n);
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

const scrapeMetricsDoc = {
  tags: ['health'],
  operationId: 'scrapeMetrics',
  summary: 'Prometheus metrics',
  description:
    'Requests by route pattern, method and status with their latency, compiles, the compiled-topology cache, and Node\'s ' +
    'process metrics (event-loop delay, heap, GC, CPU), in Prometheus\' text format. Needs no token.',
  security: [],
  response: {
    200: {
      description: 'The metrics.',
      content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' }, example: 'pathtrace_traces_total{disposition="DELIVERED"} 42\n' } },
    },
  },
};

async function metricsPlugin(app: FastifyInstance) {
  const metrics = new Metrics();
  app.decorate('metrics', metrics);
  app.addHook('onResponse', (request, reply, done) => {
    // Requests no route matched are one series, whatever their URL.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.observe({ route, method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', { schema: scrapeMetricsDoc }, async (_request, reply) => {
    metrics.queued.set(app.work?.pool.queued ?? 0);
    metrics.running.set(app.work?.pool.running ?? 0);
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

export default fp(metricsPlugin, { name: 'metrics' });
