// A small driver for profiling the walk: compiles one data path's cluster (bench/cluster.ts), then traces the same
// 4,096 random pod pairs over and over, as bench/trace.ts does, for `seconds`, and prints the rate per round. With
// PROFILE=file it writes a CPU profile of the tracing alone (not the compile), as --cpu-prof would; read its self time
// with bench/profile-summary.ts:
//   PROFILE=/tmp/vxlan.cpuprofile node --import tsx bench/trace-loop.ts calico-vxlan [seconds] [nodes]
// SERVICES=n adds n ClusterIP Services of 10 endpoints (bench/services.ts's) and makes every trace a TCP flow to port
// 80, the port they serve: SERVICES=0 traces the same flows without them.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { compileTopology } from '../src/engine/topology.js';
import type { Transport } from '../src/engine/topology.js';
import { DATA_PATHS, generateCluster, samplePairs, withServices } from './cluster.js';

const dataPath = process.argv[2] ?? 'bridge-host-gw';
const seconds = Number(process.argv[3] ?? 10);
const nodes = Number(process.argv[4] ?? 5000);
if (DATA_PATHS[dataPath] === undefined) throw new Error(`unknown data path ${dataPath}: ${Object.keys(DATA_PATHS).join(', ')}`);
const services = process.env.SERVICES === undefined ? undefined : Number(process.env.SERVICES);
const pods = generateCluster(nodes, 30, DATA_PATHS[dataPath]);
const cluster = services ? withServices(pods, services, 10) : pods;
const compiled = compileTopology({ form: 'cluster', cluster });
const pairs = samplePairs(compiled, cluster, 4096);
const tcp: Transport | undefined = services === undefined ? undefined : { protocol: 'tcp', srcPort: 40000, dstPort: 80 };
const sample = compiled.trace(pairs[0]![0], pairs[0]![1], 64, undefined, tcp).paths[0]!;
console.log(`${dataPath}${services === undefined ? '' : ` with ${services} Services`}: ${sample.disposition}, ${sample.hops.length} hops`);
let sink = 0;
for (let i = 0; i < 20_000; i++) sink += compiled.trace(pairs[i & 4095]![0], pairs[i & 4095]![1], 64, undefined, tcp).paths.length;
const session = process.env.PROFILE ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
}
const rates: number[] = [];
const end = performance.now() + seconds * 1000;
let n = 0;
while (performance.now() < end) {
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < 1000) {
    for (let i = 0; i < 1000; i++, n++, done++) sink += compiled.trace(pairs[n & 4095]![0], pairs[n & 4095]![1], 64, undefined, tcp).paths.length;
  }
  rates.push(Math.round(done / ((performance.now() - start) / 1000)));
}
const sorted = rates.slice().sort((x, y) => x - y);
console.log(`${dataPath}: median ${sorted[sorted.length >> 1]} /s, best ${sorted[sorted.length - 1]} /s, rounds ${rates.join(' ')} (${sink})`);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
}
