// The reachability matrix of 1,000 pods (issue 6's target: under 5 s), on clusters shaped two ways: few large nodes (pods
// the kernel cannot tell apart share their traces) and many small ones. Run with `npx tsx bench/matrix.ts`; writes
// bench/results/matrix.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileTopology } from '../src/engine/topology.js';
import { reachability } from '../src/engine/reachability.js';
import { generateCluster } from './cluster.js';

const shapes: [number, number][] = [
  [10, 100],
  [100, 10],
];
const results = shapes.map(([nodes, pods]) => {
  const compiled = compileTopology({ form: 'cluster', cluster: generateCluster(nodes, pods) });
  const endpoints = compiled.pods();
  reachability(compiled, endpoints.slice(0, 50)); // warm-up
  const t0 = performance.now();
  const m = reachability(compiled, endpoints);
  const ms = Math.round(performance.now() - t0);
  const n = endpoints.length;
  console.log(`${nodes} nodes × ${pods} pods: ${n * (n - 1)} pairs in ${ms} ms (${m.traced} traces; target < 5,000 ms)`);
  return { nodes, podsPerNode: pods, pairs: n * (n - 1), traces: m.traced, ms };
});
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/matrix.json', import.meta.url),
  `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, date: new Date().toISOString(), results }, null, 2)}\n`,
);
