// Real trace answers from the app, for tests of what is made of them.
import { buildApp } from '../../src/app.js';
import { openDb } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import type { TraceAnswer } from '../../src/answer/schema.js';
import { example } from './examples.js';

export async function tracedAnswers(queries: string[]): Promise<TraceAnswer[]> {
  const db = await openDb({ memory: true });
  try {
    await migrate(db);
    const app = await buildApp({ db });
    await app.inject({ method: 'POST', url: '/v1/topologies', payload: example('two-nodes') });
    const answers = [];
    for (const q of queries) answers.push((await app.inject(`/v1/topologies/two-nodes/trace?${q}`)).json() as TraceAnswer);
    await app.close();
    return answers;
  } finally {
    await db.close();
  }
}
