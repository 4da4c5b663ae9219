// Where the first trace after a POST spends its time, phase by phase, in-process on a given backend (DATABASE_URL, or
// an in-memory PGlite): reading the stored document, JSON.parse, compiling, the trace itself. A diagnostic for
// bench/ingest.ts's "time to first trace"; run with `node --expose-gc --import tsx bench/first-trace-phases.ts [nodes]`.
import { compileTopology } from '../src/engine/topology.js';
import { openDb } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { TopologyStore } from '../src/store/topologies.js';
import type { TopologySpec } from '../src/topology/schema.js';
import { generateCluster } from './cluster.js';

const nodes = Number(process.argv[2] ?? 5000);
const cluster = generateCluster(nodes, 30);
const documentJson = JSON.stringify(cluster);
const url = process.env.DATABASE_URL;
const db = await openDb(url ? { databaseUrl: url } : { memory: true });
await migrate(db);
const store = new TopologyStore(db, 50);
const name = `phases-${process.pid}`;
const ms = (t: number) => `${Math.round(performance.now() - t)} ms`;
try {
  let t = performance.now();
  await store.create({ name, form: 'cluster', description: undefined, summary: { nodes, pods: cluster.pods!.length, netns: 0 }, documentJson });
  console.log(`store.create (${(documentJson.length / 1048576).toFixed(1)} MB): ${ms(t)}`);
  for (let round = 1; round <= 2; round++) {
    global.gc?.();
    t = performance.now();
    await store.head(name);
    console.log(`round ${round}: store.head ${ms(t)}`);
    t = performance.now();
    const stored = await store.get(name, 1);
    console.log(`round ${round}: store.get (read document) ${ms(t)}`);
    t = performance.now();
    const doc = JSON.parse(stored.documentJson);
    console.log(`round ${round}: JSON.parse ${ms(t)}`);
    t = performance.now();
    const compiled = compileTopology({ form: 'cluster', cluster: doc } as TopologySpec);
    console.log(`round ${round}: compileTopology ${ms(t)}`);
    t = performance.now();
    const a = compiled.resolve('default/pod-0-0', 'source');
    const b = compiled.resolve(`default/pod-${nodes - 1}-29`, 'destination');
    compiled.trace(a, b);
    console.log(`round ${round}: resolve + trace ${ms(t)}`);
  }
} finally {
  await store.remove(name, undefined).catch(() => {});
  await db.close();
}
