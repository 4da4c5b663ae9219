// The application factory: everything the service is, without listening. Tests build it around a database of their
// choice and talk to it with inject() or supertest; server.ts adds the socket, signals and shutdown.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Db } from './store/db.js';
import { TopologyStore } from './store/topologies.js';
import validation from './http/validation.js';
import serialization from './http/serialization.js';
import jsonBody from './http/json-body.js';
import problem, { clientError, frameworkError, MAX_PARAM_LENGTH } from './http/problem.js';
import health from './http/routes/health.js';
import topologies from './http/routes/topologies.js';
import traceRoutes from './http/routes/trace.js';
import tracesRoutes from './http/routes/traces.js';
import whatIfRoutes from './http/routes/whatif.js';
import slackRoutes from './http/routes/slack.js';
import importRoutes from './http/routes/import.js';
import reachabilityRoutes from './http/routes/reachability.js';
import diffRoutes from './http/routes/diff.js';
import pageRoutes from './http/routes/page.js';
import openapiRoutes from './http/routes/openapi.js';
import work from './http/work.js';
import { loadConfig, type WorkConfig } from './config.js';
import auth, { type Verifiers } from './http/auth.js';
import metrics from './http/metrics.js';
import requestIds, { requestId } from './http/request-id.js';
import rateLimit, { type RateLimits } from './http/rate-limit.js';
import cors from './http/cors.js';

export interface AppOptions {
  db: Db;
  bodyLimit?: number;
  revisionsKept?: number;
  /** The worker threads and their limits; by default as the environment says (WORKERS, JOB_DEADLINE_SECONDS, …). */
  work?: Partial<WorkConfig>;
  /** Slack's signing secret; without it the Slack command refuses every request. */
  slackSigningSecret?: string;
  logger?: FastifyServerOptions['logger'];
  /** Who may call; without it every caller may do everything (server.ts allows that on loopback only). */
  auth?: Verifiers;
  /** The most bytes a trace answer (single, batch, what-if) may take; past them it is answered 422. */
  maxAnswerBytes?: number;
  /** Requests per caller and minute; off when absent. */
  rateLimits?: RateLimits;
  /** The origins whose pages may call the service (CORS); none when absent. */
  corsOrigins?: readonly string[];
  /** Called before any route is registered, so that what it registers sees every route: tools/openapi.ts documents them. */
  beforeRoutes?: (app: FastifyInstance) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    store: TopologyStore;
    /** Set on SIGTERM: /readyz answers 503 so that load balancers stop sending. */
    draining: boolean;
  }
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024,
    // While closing, new requests get 503 and keep-alive connections are ended once their in-flight request is answered.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkError,
    genReqId: requestId,
    clientErrorHandler: clientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON bodies are accepted; Fastify's built-in text/plain parser would turn a wrong Content-Type into a confusing 400.
  app.removeContentTypeParser('text/plain');
  app.decorate('db', options.db);
  app.decorate('draining', false);
  // While stopping, a connection ends with the answer in flight on it, rather than waiting idle for a request that
  // would be refused: the server's close waits for every connection.
  // Hooks on every request take a callback rather than returning a promise: a promise and its microtask per hook and
  // request are a measurable share of a trace's cost on the main thread.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (app.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  app.decorate('store', new TopologyStore(options.db, options.revisionsKept ?? 50));

  await app.register(jsonBody);
  await options.beforeRoutes?.(app);
  await app.register(validation);
  await app.register(serialization);
  await app.register(requestIds);
  await app.register(problem);
  await app.register(metrics);
  await app.register(cors, { origins: options.corsOrigins ?? [] });
  await app.register(auth, { verifiers: options.auth });
  await app.register(rateLimit, options.rateLimits ?? { perMinute: 0, heavyPerMinute: 0 });
  await app.register(health);
  await app.register(work, { ...loadConfig(process.env).work, ...options.work });
  await app.register(topologies, { prefix: '/v1' });
  await app.register(traceRoutes, { prefix: '/v1', maxAnswerBytes: options.maxAnswerBytes });
  await app.register(tracesRoutes, { prefix: '/v1', maxAnswerBytes: options.maxAnswerBytes });
  await app.register(whatIfRoutes, { prefix: '/v1', maxAnswerBytes: options.maxAnswerBytes });
  await app.register(slackRoutes, { prefix: '/v1', signingSecret: options.slackSigningSecret });
  await app.register(importRoutes, { prefix: '/v1' });
  await app.register(reachabilityRoutes, { prefix: '/v1', maxAnswerBytes: options.maxAnswerBytes });
  await app.register(diffRoutes, { prefix: '/v1' });
  await app.register(pageRoutes);
  await app.register(openapiRoutes);
  return app;
}
