// Liveness says the process answers; readiness says it can do its job: the database answers and is migrated, and the
// request validators are compiled.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isMigrated } from '../../store/migrate.js';
import { sendProblem } from '../problem.js';
import { Unavailable } from '../responses.js';

export const Status = Type.Object({ status: Type.String() });

const checkLivenessDoc = {
  security: [],
  tags: ['health'],
  operationId: 'checkLiveness',
  summary: 'Liveness probe',
  description: 'Answers as long as the process serves HTTP; it does not touch the database.',
  response: {
    200: {
      description: 'The process is alive.',
      content: { 'application/json': { schema: Status, example: { status: 'ok' } } },
    },
  },
};

const checkReadinessDoc = {
  security: [],
  tags: ['health'],
  operationId: 'checkReadiness',
  summary: 'Readiness probe',
  description:
    'Answers 200 when the service can do its job, that is when the database answers and its schema is migrated and the\n' +
    'request validators are compiled (a second or two after the start); 503 before, and once it is shutting down\n' +
    '(SIGTERM), while it still answers requests for DRAIN_SECONDS.',
  response: {
    200: {
      description: 'The database answers and is migrated.',
      content: { 'application/json': { schema: Status, example: { status: 'ready' } } },
    },
    503: Unavailable,
  },
};

export default async function health(app: FastifyInstance) {
  app.get('/healthz', { schema: checkLivenessDoc }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: checkReadinessDoc }, async (request, reply) => {
    if (app.draining) return sendProblem(reply, 503, 'unavailable', 'the service is shutting down');
    let migrated: boolean;
    try {
      migrated = await isMigrated(app.db);
    } catch (err) {
      request.log.warn({ err }, 'readiness check: the database did not answer');
      return sendProblem(reply, 503, 'unavailable', 'the database does not answer');
    }
    if (!migrated) return sendProblem(reply, 503, 'unavailable', 'the database schema is not migrated yet');
    if (app.warming) return sendProblem(reply, 503, 'unavailable', 'the request validators are still being compiled');
    return { status: 'ready' };
  });
}
