// Growth: the in-process trace benchmark (bench/trace.ts) at 50, 500 and 5,000 nodes of 30 pods, each in its own process,
// so it is visible how compile time, memory and the cost of one trace grow with the cluster. Run with
// `npx tsx bench/growth.ts`; writes bench/results/growth.json (and the per-size trace-*.json files).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { root } from './serve.js';

const podsPerNode = 30;
const rows = [];
for (const nodes of [50, 500, 5000]) {
  console.log(`\n-- ${nodes} nodes × ${podsPerNode} pods`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/trace.ts', String(nodes), String(podsPerNode)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const file = nodes === 5000 ? 'trace.json' : `trace-${nodes}x${podsPerNode}.json`;
  const t = JSON.parse(readFileSync(join(root, 'bench', 'results', file), 'utf8'));
  rows.push({
    nodes,
    pods: t.cluster.pods,
    compileMs: t.compileMs,
    compileRssMB: t.compileRssMB,
    tracesPerSec: t.tracesPerSec.median,
    nsPerTrace: Math.round(1e9 / t.tracesPerSec.median),
    explainedTracesPerSec: t.explainedTracesPerSec.median,
    nsPerExplainedTrace: Math.round(1e9 / t.explainedTracesPerSec.median),
  });
}
console.log('\nnodes     pods  compile ms  RSS MB  ns/trace  ns/trace+explanation');
for (const r of rows) {
  console.log(
    `${String(r.nodes).padStart(5)} ${String(r.pods).padStart(8)} ${String(r.compileMs).padStart(11)} ${String(r.compileRssMB).padStart(7)} ${String(r.nsPerTrace).padStart(9)} ${String(r.nsPerExplainedTrace).padStart(21)}`,
  );
}
const result = { machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, date: new Date().toISOString(), podsPerNode, rows };
writeFileSync(join(root, 'bench', 'results', 'growth.json'), `${JSON.stringify(result, null, 2)}\n`);
