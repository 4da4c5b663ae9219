// Requests per caller and minute: a caller is its token (or JWT subject) when authenticated, its address otherwise. Heavy
// routes (matrices, batches, what-if, diffs, writes and imports, which compile) count against a smaller budget of
// their own, so a dashboard's stream of single traces is not starved by one client's batches, nor the other way round.
// Counted per process: replicas behind a load balancer each allow the budget.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { Problem } from './problem.js';

export interface RateLimits {
  /** Requests per minute per caller on ordinary routes; 0 turns limiting off. */
  perMinute: number;
  /** Requests per minute per caller on heavy routes. */
  heavyPerMinute: number;
}

const HEAVY_GETS = new Set(['/v1/topologies/:name/reachability', '/v1/topologies/:name/diff']);
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/** Every write compiles, every POST that asks traces many flows: all but the single-answer GETs are heavy. */
const isHeavy = (request: FastifyRequest): boolean =>
  request.method !== 'GET' && request.method !== 'HEAD' ? true : HEAVY_GETS.has(request.routeOptions.url ?? '');

async function rateLimitPlugin(app: FastifyInstance, limits: RateLimits) {
  if (limits.perMinute === 0) return;
  await app.register(rateLimit, {
    global: true,
    // After authentication (onRequest), before the body is read.
    hook: 'preParsing',
    timeWindow: 60_000,
    cache: 50_000,
    allowList: (request) => UNLIMITED.has(request.routeOptions.url ?? ''),
    keyGenerator: (request) => `${isHeavy(request) ? 'heavy' : 'light'} ${request.principal?.subject ?? request.ip}`,
    max: (request) => (isHeavy(request) ? limits.heavyPerMinute : limits.perMinute),
    errorResponseBuilder: (request, context) =>
      new Problem(
        429,
        'rate-limited',
        `more than ${context.max} ${isHeavy(request) ? 'heavy requests (matrices, batches, what-if, diffs, writes)' : 'requests'} a minute ` +
          `from ${request.principal?.subject ?? request.ip}; retry in ${context.after}, or ask the operator for a higher RATE_LIMIT`,
        { limit: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
      ),
  });
}

export default fp(rateLimitPlugin, { name: 'rate-limit', dependencies: ['auth'] });
