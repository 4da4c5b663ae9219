// Liveness says the process answers; readiness says it can do its job: the database answers and is migrated.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isMigrated } from '../../store/migrate.js';
import { sendProblem } from '../problem.js';

const Status = Type.Object({ status: Type.String() });

export default async function health(app: FastifyInstance) {
  app.get('/healthz', { schema: { response: { 200: Status } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { response: { 200: Status } } }, async (request, reply) => {
    let migrated: boolean;
    try {
      migrated = await isMigrated(app.db);
    } catch (err) {
      request.log.warn({ err }, 'readiness check: the database did not answer');
      return sendProblem(reply, 503, 'unavailable', 'the database does not answer');
    }
    if (!migrated) return sendProblem(reply, 503, 'unavailable', 'the database schema is not migrated yet');
    return { status: 'ready' };
  });
}
