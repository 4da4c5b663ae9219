import { compileTopology, type Endpoint } from '../src/engine/topology.js';
import { generateCluster, withServices } from './cluster.js';
const full = withServices(generateCluster(5000, 30), 10000, 10);
const c = compileTopology({ form: 'cluster', cluster: full });
const pods = c.pods();
const table = c.services!;
const targets: Endpoint[] = table.services.map((s) => ({ name: `svc/${s.namespace}/${s.name}`, kind: 'service', netns: undefined, addrs: s.clusterIPs, v4: s.clusterIPs[0], v6: undefined }) as Endpoint);
const N = Number(process.argv[2] ?? 300000);
for (let round = 0; round < 3; round++) {
  const t0 = performance.now();
  let paths = 0;
  for (let i = 0; i < N; i++) {
    const k = (i * 7919) % targets.length;
    const t = c.trace(pods[(i * 104729 + 1) % pods.length]!, targets[k]!, 64, undefined, { protocol: 'tcp', srcPort: 40000, dstPort: 80 });
    paths += t.paths.length;
  }
  console.log(Math.round(N / (performance.now() - t0) * 1000), 'per s', paths / N);
}
