// Services' cost (issue 15): a 5,000-node cluster (150,000 pods, bridge host-gw) with 10,000 ClusterIP Services of 10
// endpoints each (100,000 endpoints): what the Services add to compiling it (target ≤ 1 s more), pod-to-pod traces with
// and without them (target: unchanged), and pod-to-Service traces per second in-process (target ≥ 100,000/s), both as
// the API answers them (every endpoint traced, one path each) and with `endpoint=` pinning one. The engine's traces,
// not the JSON answer. Run with `npx tsx bench/services.ts`; writes bench/results/services.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileTopology, type CompiledTopology, type Endpoint } from '../src/engine/topology.js';
import type { ClusterDoc } from '../src/topology/schema.js';
import { generateCluster } from './cluster.js';

const SERVICES = 10_000;
const PER_SERVICE = 10;

/** Service k: ClusterIP 10.96.0.0/12 + k + 1, TCP 80 → 8080, endpoints the pods k*10 … k*10+9, all ready. */
function withServices(cluster: ClusterDoc): ClusterDoc {
  const pods = cluster.pods!;
  const ip = (k: number) => `10.${96 + ((k + 1) >> 16)}.${((k + 1) >> 8) & 255}.${(k + 1) & 255}`;
  const services = Array.from({ length: SERVICES }, (_, k) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name: `svc-${k}` },
    spec: { type: 'ClusterIP', clusterIP: ip(k), clusterIPs: [ip(k)], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  }));
  const endpointSlices = Array.from({ length: SERVICES }, (_, k) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name: `svc-${k}-abcde`, labels: { 'kubernetes.io/service-name': `svc-${k}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: PER_SERVICE }, (_, j) => {
      const pod = pods[(k * PER_SERVICE + j) % pods.length]!;
      const ip = pod.podIPs![0]!;
      return { addresses: [typeof ip === 'string' ? ip : ip.ip], conditions: { ready: true }, nodeName: pod.nodeName };
    }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  }));
  return { ...cluster, services, endpointSlices, serviceCIDRs: ['10.96.0.0/12'], kubeProxy: { mode: 'iptables', clusterCIDR: '10.0.0.0/8' } } as ClusterDoc;
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
};

const base = generateCluster(5000, 30);
const full = withServices(base);
// Compiled twice each, the second run timed: the first warms the JIT.
const compile = (doc: ClusterDoc) => {
  compileTopology({ form: 'cluster', cluster: doc });
  return time(() => compileTopology({ form: 'cluster', cluster: doc }));
};
const [plain, compileWithout] = compile(base);
const [served, compileWith] = compile(full);
console.log(`compile: 150,000 pods ${Math.round(compileWithout)} ms, with 10,000 Services / 100,000 endpoints ${Math.round(compileWith)} ms (+${Math.round(compileWith - compileWithout)} ms; target ≤ 1,000 ms more)`);

const ROUNDS = 100_000;
function podRate(c: CompiledTopology): number {
  const pods = c.pods();
  let delivered = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const t = c.trace(pods[(i * 7919) % pods.length]!, pods[(i * 104729 + 1) % pods.length]!, 64, undefined, { protocol: 'tcp', srcPort: 40000, dstPort: 80 });
      if (t.paths[0]!.disposition === 'DELIVERED') delivered++;
    }
  };
  run(ROUNDS / 5);
  const [, ms] = time(() => run(ROUNDS));
  if (delivered === 0) throw new Error('no pod-to-pod trace delivered');
  return Math.round((ROUNDS / ms) * 1000);
}

function serviceRate(c: CompiledTopology, pinned: boolean): { perSecond: number; paths: number } {
  const pods = c.pods();
  const table = c.services!;
  const targets: Endpoint[] = table.services.map((s) => ({ name: `svc/${s.namespace}/${s.name}`, kind: 'service', netns: undefined, addrs: s.clusterIPs, v4: s.clusterIPs[0], v6: undefined }) as Endpoint);
  // The endpoint a pinned trace takes: the Service's first (pod k*10).
  const firsts = table.services.map((_, k) => c.pods()[(k * PER_SERVICE) % pods.length]!.addrs[0]!);
  let delivered = 0;
  let paths = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const k = (i * 7919) % targets.length;
      const t = c.trace(pods[(i * 104729 + 1) % pods.length]!, targets[k]!, 64, undefined, { protocol: 'tcp', srcPort: 40000, dstPort: 80, ...(pinned ? { endpoint: firsts[k] } : {}) });
      paths += t.paths.length;
      if (t.paths.every((p) => p.disposition === 'DELIVERED')) delivered++;
    }
  };
  run(ROUNDS / 5);
  paths = 0;
  delivered = 0;
  const [, ms] = time(() => run(ROUNDS));
  if (delivered !== ROUNDS) throw new Error(`${ROUNDS - delivered} pod-to-Service traces not delivered`);
  return { perSecond: Math.round((ROUNDS / ms) * 1000), paths: paths / ROUNDS };
}

const podWithout = podRate(plain);
const podWith = podRate(served);
console.log(`pod to pod: ${podWithout}/s without Services, ${podWith}/s with them`);
const all = serviceRate(served, false);
const one = serviceRate(served, true);
console.log(`pod to Service: ${all.perSecond}/s every endpoint traced (${all.paths} paths a trace), ${one.perSecond}/s with endpoint= (target ≥ 100,000/s)`);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/services.json', import.meta.url),
  `${JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, shared: true },
      date: new Date().toISOString(),
      cluster: { nodes: 5000, pods: 150_000, services: SERVICES, endpoints: SERVICES * PER_SERVICE, cni: 'bridge host-gw', kubeProxy: 'iptables' },
      compile: { withoutMs: Math.round(compileWithout), withMs: Math.round(compileWith) },
      podToPod: { withoutPerSecond: podWithout, withPerSecond: podWith },
      podToService: { everyEndpointPerSecond: all.perSecond, pathsPerTrace: all.paths, pinnedPerSecond: one.perSecond },
    },
    null,
    2,
  )}\n`,
);
