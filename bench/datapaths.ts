// Every data path at the maximal size: bench/trace.ts on a 5,000-node / 150,000-pod cluster of each, in its own process,
// so that the cost of tunnels (a second lookup for the outer packet, neighbour, FDB or ipcache lookups) and of the other
// data paths' shapes is measured in one run, on one machine. Run with `npx tsx bench/datapaths.ts [nodes]`; writes
// bench/results/datapaths.json.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { root } from './serve.js';
import { DATA_PATHS } from './cluster.js';

const nodes = Number(process.argv[2] ?? 5000);
const podsPerNode = 30;
const rows = [];
for (const dataPath of Object.keys(DATA_PATHS)) {
  console.log(`\n-- ${dataPath}`);
  const args = ['--expose-gc', '--import', 'tsx', 'bench/trace.ts', String(nodes), String(podsPerNode), dataPath];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const suffix = dataPath === 'bridge-host-gw' ? '' : `-${dataPath}`;
  const file = nodes === 5000 && suffix === '' ? 'trace.json' : `trace-${nodes}x${podsPerNode}${suffix}.json`;
  const t = JSON.parse(readFileSync(join(root, 'bench', 'results', file), 'utf8'));
  rows.push({
    dataPath,
    compileMs: t.compileMs,
    compileRssMB: t.compileRssMB,
    nsPerTrace: Math.round(1e9 / t.tracesPerSec.median),
    nsPerExplainedTrace: Math.round(1e9 / t.explainedTracesPerSec.median),
  });
}
console.log('\ndata path        compile ms  RSS MB  ns/trace  ns/trace+explanation');
for (const r of rows) {
  console.log(
    `${r.dataPath.padEnd(16)} ${String(r.compileMs).padStart(10)} ${String(r.compileRssMB).padStart(7)} ${String(r.nsPerTrace).padStart(9)} ${String(r.nsPerExplainedTrace).padStart(21)}`,
  );
}
const result = { machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, date: new Date().toISOString(), nodes, podsPerNode, rows };
writeFileSync(join(root, 'bench', 'results', 'datapaths.json'), `${JSON.stringify(result, null, 2)}\n`);
