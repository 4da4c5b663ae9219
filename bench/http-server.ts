// The service as src/server.ts starts it, plus a bare Fastify hello-world on HELLO_PORT in the same process, so that
// bench/http.ts can compare the trace route with the cheapest possible route under the same event loop and machine.
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';

const config = loadConfig(process.env);
const db = await openDb(config.db);
await migrate(db);
const app = await buildApp({ db, bodyLimit: config.bodyLimit, work: config.work, logger: { level: config.logLevel } });
const hello = Fastify();
hello.get('/', async () => ({ hello: 'world' }));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([app.close(), hello.close()]);
  await db.close();
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

await hello.listen({ host: '127.0.0.1', port: Number(process.env.HELLO_PORT) });
await app.listen({ host: '127.0.0.1', port: config.port });
