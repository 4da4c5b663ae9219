// Engine throughput on a maximal cluster: compile time and memory of a 5,000-node / 150,000-pod cluster (bridge host-gw,
// or the data path named by the third argument, see bench/cluster.ts),
// then traces per second between random pod pairs in-process (tracing alone, tracing plus the rendered explanation, and
// the same for pairs asked once each).
// The pairs are spread over the whole cluster, as a dashboard's questions are: what limits a trace is cache misses, not
// instructions. Each figure is taken in several rounds, and the median and the best are reported, since on a shared
// machine other jobs only ever slow a round down.
// Run with `node --expose-gc --import tsx bench/trace.ts [nodes] [podsPerNode] [data path]`; writes bench/results/trace.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileTopology } from '../src/engine/topology.js';
import { explain } from '../src/answer/explain.js';
import { DATA_PATHS, generateCluster, samplePairs } from './cluster.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = Number(process.argv[3] ?? 30);
const dataPath = process.argv[4] ?? 'bridge-host-gw';
if (DATA_PATHS[dataPath] === undefined) throw new Error(`unknown data path ${dataPath}: ${Object.keys(DATA_PATHS).join(', ')}`);
const mb = (n: number) => Math.round(n / 1048576);

const cluster = generateCluster(nodes, podsPerNode, DATA_PATHS[dataPath]);
global.gc?.();
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const compiled = compileTopology({ form: 'cluster', cluster });
const compileMs = performance.now() - t0;
global.gc?.();
const rssAfter = process.memoryUsage().rss;

// Random pod pairs, resolved up front: the benchmark measures tracing, not name lookups.
const pods = cluster.pods!;
const pairs = samplePairs(compiled, cluster, 4096);

const ROUNDS = 5;

function measure(label: string, seconds: number, fn: (i: number) => unknown) {
  for (let i = 0; i < 20_000; i++) fn(i); // warm-up: let the JIT settle
  let n = 0;
  let sink = 0;
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let done = 0;
    const start = performance.now();
    const until = start + (seconds * 1000) / ROUNDS;
    while (performance.now() < until) {
      for (let i = 0; i < 1000; i++, n++, done++) sink ^= fn(n) ? 1 : 0;
    }
    rounds.push(done / ((performance.now() - start) / 1000));
  }
  rounds.sort((x, y) => x - y);
  const median = Math.round(rounds[ROUNDS >> 1]!);
  const best = Math.round(rounds[ROUNDS - 1]!);
  const fmt = (x: number) => x.toLocaleString('en').padStart(10);
  console.log(`${label.padEnd(34)} median ${fmt(median)} /s, best ${fmt(best)} /s  (${sink})`);
  return { median, best };
}

const sample = compiled.trace(pairs[0]![0], pairs[0]![1]);
console.log(`cluster: ${nodes} nodes, ${pods.length} pods, ${dataPath}; sample trace: ${sample.paths[0]!.disposition}, ${sample.paths[0]!.hops.length} hops`);
console.log(`compile: ${Math.round(compileMs)} ms, RSS +${mb(rssAfter - rssBefore)} MB (total ${mb(rssAfter)} MB)`);
const traces = measure('traces (engine only)', 5, (i) => {
  const [a, b] = pairs[i & 4095]!;
  return compiled.trace(a, b).paths.length;
});
const explained = measure('traces + explanation', 5, (i) => {
  const [a, b] = pairs[i & 4095]!;
  return explain(compiled.fabric, compiled.trace(a, b), { from: a.name, to: b.name }).hops.length;
});
// Pairs asked once each, as bench/http.ts asks them (the 4,096 above stand for a dashboard's repeated questions): what an
// explanation costs when nothing of its path was kept from an earlier one. The first 4,096 are the pairs above.
const freshPairs = samplePairs(compiled, cluster, 1 << 18);
let nextFresh = 4096;
const explainedFresh = measure('traces + explanation, fresh pairs', 5, () => {
  const [a, b] = freshPairs[nextFresh++ % freshPairs.length]!;
  return explain(compiled.fabric, compiled.trace(a, b), { from: a.name, to: b.name }).hops.length;
});

const result = {
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  date: new Date().toISOString(),
  cluster: { nodes, pods: pods.length, dataPath },
  compileMs: Math.round(compileMs),
  compileRssMB: mb(rssAfter - rssBefore),
  totalRssMB: mb(rssAfter),
  tracesPerSec: traces,
  explainedTracesPerSec: explained,
  explainedFreshTracesPerSec: explainedFresh,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
// The default size and data path write trace.json; others (bench/growth.ts, bench/datapaths.ts) write
// trace-<nodes>x<podsPerNode>[-<data path>].json.
const suffix = dataPath === 'bridge-host-gw' ? '' : `-${dataPath}`;
const file = nodes === 5000 && podsPerNode === 30 && suffix === '' ? 'trace.json' : `trace-${nodes}x${podsPerNode}${suffix}.json`;
writeFileSync(new URL(`./results/${file}`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
