import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import type { Db } from '../../src/store/db.js';
import { openTestDb } from './db.js';

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
