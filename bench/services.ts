// Services' cost (issue 15): a 5,000-node cluster (150,000 pods, bridge host-gw) with 10,000 ClusterIP Services of 10
// endpoints each (100,000 endpoints): what the Services add to compiling it (target ≤ 1 s more), pod-to-pod traces with
// and without them (target: unchanged), and pod-to-Service traces per second in-process (target ≥ 100,000/s), both as
// the API answers them (every endpoint traced, one path each) and with `endpoint=` pinning one. The engine's traces,
// not the JSON answer. Run with `node --expose-gc --import tsx bench/services.ts`; writes bench/results/services.json. With `pod-to-pod` it
// compiles and compares pod-to-pod traces only, and writes nothing (for runs alternating with another build's).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileTopology, type CompiledTopology, type Endpoint } from '../src/engine/topology.js';
import type { ClusterDoc } from '../src/topology/schema.js';
import { generateCluster, withServices } from './cluster.js';

const SERVICES = 10_000;
const PER_SERVICE = 10;

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
};

const base = generateCluster(5000, 30);
const full = withServices(base, SERVICES, PER_SERVICE);
// Each compiled four times, alternating, the first of each untimed (it warms the JIT); the median of the other three,
// each begun on a collected heap that holds no earlier compilation (run with --expose-gc): one compile's time swings by
// ±0.5 s with the major GCs an older compilation's heap brings, more than the Services cost.
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});
const compile = (doc: ClusterDoc) => {
  collect();
  return time(() => compileTopology({ form: 'cluster', cluster: doc }));
};
compile(base);
compile(full);
const withoutMs: number[] = [];
const withMs: number[] = [];
for (let i = 0; i < 3; i++) {
  withoutMs.push(compile(base)[1]);
  withMs.push(compile(full)[1]);
}
const plain = compileTopology({ form: 'cluster', cluster: base });
const served = compileTopology({ form: 'cluster', cluster: full });
const middle = (v: number[]) => v.slice().sort((p, q) => p - q)[v.length >> 1]!;
const compileWithout = middle(withoutMs);
const compileWith = middle(withMs);
console.log(`compile: 150,000 pods ${Math.round(compileWithout)} ms, with 10,000 Services / 100,000 endpoints ${Math.round(compileWith)} ms (medians of three; ${compileWith >= compileWithout ? '+' : '−'}${Math.abs(Math.round(compileWith - compileWithout))} ms; target ≤ 1,000 ms more)`);

const ROUNDS = 100_000;
const POD_ROUND = 10_000;
/** Rounds of each: enough for the median ratio to hold still on a loaded machine, where one round's is off by 15%. */
const POD_ROUNDS = 30;
const TCP = { protocol: 'tcp', srcPort: 40000, dstPort: 80 } as const;

/**
 * Pod-to-pod traces per second of CPU time without the Services and with them, measured in 30 alternating rounds of
 * 10,000 traces (the same pairs in both, which goes first alternating too) after 20,000 of warm-up each: the machine's
 * load and the JIT's state then weigh on both alike, where one measurement after the other gives each the load of its
 * moment and the second the code the first made hot; and CPU time, not wall clock, leaves out the time another job held
 * the core. The medians of the rounds' rates, and the median of the rounds' ratios.
 */
function podRates(without: CompiledTopology, withThem: CompiledTopology): { without: number; with: number; ratio: number } {
  const run = (c: CompiledTopology, from: number, n: number) => {
    const pods = c.pods();
    let delivered = 0;
    const t0 = process.cpuUsage();
    for (let i = from; i < from + n; i++) {
      const t = c.trace(pods[(i * 7919) % pods.length]!, pods[(i * 104729 + 1) % pods.length]!, 64, undefined, TCP);
      if (t.paths[0]!.disposition === 'DELIVERED') delivered++;
    }
    const cpu = process.cpuUsage(t0);
    if (delivered === 0) throw new Error('no pod-to-pod trace delivered');
    return (n / (cpu.user + cpu.system)) * 1e6;
  };
  run(without, 0, ROUNDS / 5);
  run(withThem, 0, ROUNDS / 5);
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < POD_ROUNDS; r++) {
    const from = ROUNDS / 5 + r * POD_ROUND;
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = run(without, from, POD_ROUND);
      y = run(withThem, from, POD_ROUND);
    } else {
      y = run(withThem, from, POD_ROUND);
      x = run(without, from, POD_ROUND);
    }
    a.push(x);
    b.push(y);
    ratios.push(y / x);
  }
  return { without: Math.round(middle(a)), with: Math.round(middle(b)), ratio: Math.round(middle(ratios) * 1000) / 1000 };
}

function serviceRate(c: CompiledTopology, pinned: boolean): { perSecond: number; paths: number } {
  const pods = c.pods();
  const table = c.services!;
  const targets: Endpoint[] = table.services.map((s) => ({ name: `svc/${s.namespace}/${s.name}`, kind: 'service', netns: undefined, addrs: s.clusterIPs, v4: s.clusterIPs[0], v6: undefined }) as Endpoint);
  // The endpoint a pinned trace takes: the Service's first (pod k*10).
  const firsts = table.services.map((_, k) => pods[(k * PER_SERVICE) % pods.length]!.addrs[0]!);
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

const pod = podRates(plain, served);
console.log(`pod to pod: ${pod.without}/s without Services, ${pod.with}/s with them by CPU time (${pod.ratio}x, the median of alternating rounds' ratios; target: unchanged)`);
// The same compiled topology with its Service table and without (sharing every other object): what the table costs a
// pod-to-pod trace, free of the difference two compilations' places in the heap make (±5% from one process to the
// next with identical code, and the Services' topology compiled second).
const stripped = Object.assign(Object.create(Object.getPrototypeOf(served) as object) as CompiledTopology, served, { services: undefined });
const table = podRates(stripped, served);
console.log(`pod to pod, one compilation: ${table.without}/s with its Service table taken away, ${table.with}/s with it (${table.ratio}x)`);
if (process.argv[2] === 'pod-to-pod') process.exit(0);
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
      podToPod: { withoutPerSecond: pod.without, withPerSecond: pod.with, ratio: pod.ratio, sameCompilationRatio: table.ratio },
      podToService: { everyEndpointPerSecond: all.perSecond, pathsPerTrace: all.paths, pinnedPerSecond: one.perSecond },
    },
    null,
    2,
  )}\n`,
);
