// The ceiling of an HTTP trace on this machine: a bare Fastify (no plugins, no worker) that answers traces on its main
// thread from a compilation it holds, doing the trace route's work as a worker does it (JOBS.answer: resolve, walk,
// explain, write out), beside a hello-world route and the same answer made once. bench/http-ceiling.ts drives it.
// NODES and PODS_PER_NODE name the generated cluster (bench/cluster.ts); PORT is the port (bench/serve.ts sets it).
import Fastify from 'fastify';
import { compileTopology } from '../src/engine/topology.js';
import { JOBS, type Encoded } from '../src/work/jobs.js';
import type { Format } from '../src/render/formats.js';
import { generateCluster } from './cluster.js';

const cluster = generateCluster(Number(process.env.NODES), Number(process.env.PODS_PER_NODE));
const revision = { key: { id: 'ceiling', name: 'ceiling', revision: 1 }, compiled: compileTopology({ form: 'cluster', cluster }) };
const answer = (from: string, to: string, format: Format): Encoded => JOBS.answer([revision], { flow: { from, to }, options: {}, format });

const pods = cluster.pods!;
const madeOnce = (format: Format) => answer(`default/${pods[0]!.name}`, `default/${pods[pods.length - 1]!.name}`, format);
const made: Record<string, Encoded> = { json: madeOnce('json'), text: madeOnce('text') };

const app = Fastify();
app.get('/', async () => ({ hello: 'world' }));
app.get<{ Querystring: { format: 'json' | 'text' } }>('/made', (req, reply) => {
  const { contentType, body } = made[req.query.format]!;
  void reply.type(contentType).send(body);
});
app.get<{ Querystring: { from: string; to: string; format: 'json' | 'text' } }>('/trace', (req, reply) => {
  const { contentType, body } = answer(req.query.from, req.query.to, req.query.format);
  void reply.type(contentType).send(body);
});
app.get('/readyz', async () => ({ ready: true }));

process.once('SIGTERM', () => void app.close());
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
