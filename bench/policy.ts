// NetworkPolicy's cost (issue 16): a trace with policies against the same trace without, the reachability matrix of
// 1,000 pods under 500 policies (target < 5 s), and what 10,000 policies add to compiling 150,000 pods (target ≤ 2 s).
// Pods are spread over 20 namespaces (100 at 150,000 pods) with an app label of 25 values; each policy isolates one app
// of one namespace for ingress (from two apps, one of them in any namespace with a label, on TCP 80 or a range), a
// tenth also for egress. Run with `npx tsx bench/policy.ts`; writes bench/results/policy.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileTopology } from '../src/engine/topology.js';
import { reachability } from '../src/engine/reachability.js';
import type { ClusterDoc, NetworkPolicyDoc } from '../src/topology/schema.js';
import { generateCluster } from './cluster.js';

const APPS = 25;

function withPolicies(cluster: ClusterDoc, namespaces: number, policies: number): ClusterDoc {
  const pods = cluster.pods!.map((p, i) => ({ ...p, namespace: `ns-${i % namespaces}`, labels: { app: `app-${Math.floor(i / namespaces) % APPS}`, tier: i % 3 === 0 ? 'front' : 'back' } }));
  const nss = Array.from({ length: namespaces }, (_, n) => ({ name: `ns-${n}`, labels: { env: n % 2 === 0 ? 'prod' : 'dev' } }));
  const docs: NetworkPolicyDoc[] = Array.from({ length: policies }, (_, k) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `p-${k}`, namespace: `ns-${k % namespaces}` },
    spec: {
      podSelector: { matchLabels: { app: `app-${k % APPS}` } },
      policyTypes: k % 10 === 0 ? ['Ingress', 'Egress'] : ['Ingress'],
      ingress: [
        { from: [{ podSelector: { matchLabels: { app: `app-${(k + 1) % APPS}` } } }], ports: [{ protocol: 'TCP', port: 80 }] },
        {
          from: [{ namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] } }],
          ports: [{ protocol: 'TCP', port: 8000, endPort: 8100 }],
        },
      ],
      ...(k % 10 === 0 ? { egress: [{ to: [{ namespaceSelector: {} }] }, { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.0.0/16'] } }] }] } : {}),
    },
  }));
  return { ...cluster, pods, namespaces: nss, networkPolicies: docs };
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, performance.now() - t0];
};

// ---- a trace with and without ----
const base = generateCluster(10, 100);
const plain = compileTopology({ form: 'cluster', cluster: base });
const policed = compileTopology({ form: 'cluster', cluster: withPolicies(base, 20, 500) });
function traceRate(c: typeof plain): number {
  const pods = c.pods();
  const pairs = 200_000;
  let delivered = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const t = c.trace(pods[(i * 7919) % pods.length]!, pods[(i * 104729 + 1) % pods.length]!, 64, undefined, { protocol: 'tcp', srcPort: 40000, dstPort: 80 });
      if (t.paths[0]!.disposition === 'DELIVERED') delivered++;
    }
  };
  run(20_000);
  const [, ms] = time(() => run(pairs));
  return Math.round((pairs / ms) * 1000);
}
const rounds = [0, 1, 2].map(() => [traceRate(plain), traceRate(policed)] as const);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const without = median(rounds.map((r) => r[0]));
const withP = median(rounds.map((r) => r[1]));
console.log(`trace: ${without}/s without policies, ${withP}/s with 500 (cost ${(without / withP).toFixed(2)}×; target ≤ 2×)`);

// ---- the matrix ----
const endpoints = policed.pods();
reachability(policed, endpoints.slice(0, 50), { protocol: 'tcp', dstPort: 80 });
const [m, matrixMs] = time(() => reachability(policed, endpoints, { protocol: 'tcp', dstPort: 80 }));
const denied = m.cells.filter((d) => d === 'DENIED').length;
console.log(`matrix: ${endpoints.length} pods, 500 policies: ${Math.round(matrixMs)} ms, ${m.traced} traces, ${denied} of ${m.cells.length - endpoints.length} pairs denied (target < 5,000 ms)`);

// ---- compile at 150,000 pods ----
const big = generateCluster(5000, 30);
const bigPolicies = withPolicies(big, 100, 10_000);
const [, compileWithout] = time(() => compileTopology({ form: 'cluster', cluster: { ...bigPolicies, networkPolicies: [] } }));
const [, compileWith] = time(() => compileTopology({ form: 'cluster', cluster: bigPolicies }));
console.log(`compile: 150,000 pods ${Math.round(compileWithout)} ms without policies, ${Math.round(compileWith)} ms with 10,000 (+${Math.round(compileWith - compileWithout)} ms; target ≤ 2,000 ms more)`);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/policy.json', import.meta.url),
  `${JSON.stringify(
    {
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      date: new Date().toISOString(),
      trace: { withoutPerSecond: without, withPerSecond: withP, rounds },
      matrix: { pods: endpoints.length, policies: 500, ms: Math.round(matrixMs), traces: m.traced, denied },
      compile: { pods: 150_000, policies: 10_000, withoutMs: Math.round(compileWithout), withMs: Math.round(compileWith) },
    },
    null,
    2,
  )}\n`,
);
