import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import type { Db } from '../../src/store/db.js';
import { openTestDb, resetDb } from './db.js';
import { example } from './examples.js';

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  close(): Promise<void>;
}

export async function openTestApp(options: Omit<AppOptions, 'db'> = {}): Promise<TestApp> {
  const db = await openTestDb();
  const app = await buildApp({ db, ...options });
  await app.ready();
  return {
    app,
    db,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** Empties the database and stores the seed's two-node cluster (examples/two-nodes.json) as `two-nodes`. */
export async function seedTwoNodes(t: TestApp): Promise<void> {
  await resetDb(t.db);
  const res = await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: example('two-nodes') });
  if (res.statusCode !== 201) throw new Error(`seeding two-nodes failed: ${res.body}`);
}
