// The engine's Service answers against the kernel: small clusters with Services realised in network namespaces, each
// node programmed with the rules kube-proxy's nftables mode writes (kube-proxy-nft.ts), and a TCP connection opened for
// every check from a pod, a node or a client outside the cluster. What the kernel did is read back from the namespaces
// (which endpoint pod saw the SYN and from which source, which node's endpoint chain or reject rule counted it, what the
// client got: refused, a timeout or an error) and compared with the engine's trace of the same flow (its disposition,
// the node of its DNAT step, the pod it delivers to and the source after its SNAT step). Needs root and nft; `npm run
// test:kernel` runs it (KERNEL_NETNS_PREFIX names the namespaces).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { compileTopology, type CompiledTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { answerFlow } from '../../src/answer/flow.js';
import type { FlowRequest } from '../../src/answer/trace-answer.js';
import type { ClusterDoc, CniDoc } from '../../src/topology/schema.js';
import { namespacesWork, realise, sh, type Realised } from './realise.js';
import { kubeProxyRules } from './kube-proxy-nft.js';
import { execFileSync } from 'node:child_process';

const CLUSTER_CIDR = '10.1.0.0/16';
/** The client outside the cluster: an address nobody in the model owns, on the nodes' subnet. */
const OUTSIDE = '192.168.0.200';
const TARGET_PORT = 8080;

const slice = (service: string, endpoints: { ip: string; node: string; ready?: boolean }[]) => ({
  metadata: { namespace: 'default', name: `${service}-x1`, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4' as const,
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true } })),
  ports: [{ name: 'http', port: TARGET_PORT, protocol: 'TCP' as const }],
});

const service = (name: string, clusterIP: string, extra: { nodePort?: number; etp?: 'Local'; itp?: 'Local' }) => ({
  metadata: { namespace: 'default', name },
  spec: {
    type: extra.nodePort ? 'NodePort' : 'ClusterIP',
    clusterIP,
    clusterIPs: [clusterIP],
    ports: [{ name: 'http', port: 80, targetPort: TARGET_PORT, protocol: 'TCP' as const, ...(extra.nodePort ? { nodePort: extra.nodePort } : {}) }],
    ...(extra.etp ? { externalTrafficPolicy: extra.etp } : {}),
    ...(extra.itp ? { internalTrafficPolicy: extra.itp } : {}),
  },
});

/**
 * Two nodes, a client pod and endpoint pods on each: default/web (NodePort 30080, Cluster policy; a ready endpoint on
 * each node, a not-ready one on node-b), web-local (NodePort 30081, externalTrafficPolicy Local, its endpoint on node-b),
 * empty (NodePort 30082, no ready endpoint) and web-internal (internalTrafficPolicy Local, its endpoint on node-b).
 */
function cluster(cni: CniDoc, gateway: boolean, masqueradeAll: boolean): ClusterDoc {
  return {
    nodes: [
      { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }], podCIDRs: ['10.1.1.0/24'] },
      { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.1.2.0/24'] },
    ],
    pods: [
      { namespace: 'default', name: 'client', nodeName: 'node-a', podIPs: ['10.1.1.2'] },
      { namespace: 'default', name: 'web-a', nodeName: 'node-a', podIPs: ['10.1.1.10'] },
      { namespace: 'default', name: 'client-b', nodeName: 'node-b', podIPs: ['10.1.2.2'] },
      { namespace: 'default', name: 'web-b', nodeName: 'node-b', podIPs: ['10.1.2.10'] },
      { namespace: 'default', name: 'web-c', nodeName: 'node-b', podIPs: ['10.1.2.11'] },
    ],
    cni,
    network: gateway ? { cidr: '192.168.0.0/24', gateway: '192.168.0.1' } : { cidr: '192.168.0.0/24' },
    serviceCIDRs: ['10.96.0.0/12'],
    kubeProxy: { mode: 'nftables', clusterCIDR: CLUSTER_CIDR, ...(masqueradeAll ? { nftables: { masqueradeAll } } : {}) },
    services: [
      service('web', '10.96.0.10', { nodePort: 30080 }),
      service('web-local', '10.96.0.11', { nodePort: 30081, etp: 'Local' }),
      service('empty', '10.96.0.12', { nodePort: 30082 }),
      service('web-internal', '10.96.0.13', { itp: 'Local' }),
    ],
    endpointSlices: [
      slice('web', [
        { ip: '10.1.1.10', node: 'node-a' },
        { ip: '10.1.2.10', node: 'node-b' },
        { ip: '10.1.2.11', node: 'node-b', ready: false },
      ]),
      slice('web-local', [{ ip: '10.1.2.10', node: 'node-b' }]),
      slice('empty', [{ ip: '10.1.2.11', node: 'node-b', ready: false }]),
      slice('web-internal', [{ ip: '10.1.2.10', node: 'node-b' }]),
    ],
  } as ClusterDoc;
}

interface Check {
  what: string;
  flow: FlowRequest;
  /** The Service whose endpoint `flow.endpoint` pins (its rules offer only that one). */
  service?: string;
}

const tcp = (from: string, to: string, port: number, more: Partial<FlowRequest> = {}): FlowRequest => ({ from, to, protocol: 'tcp', port, ...more });

const CHECKS: Check[] = [
  { what: 'pod to a ClusterIP, endpoint on its node', flow: tcp('default/client', '10.96.0.10', 80, { endpoint: '10.1.1.10' }), service: 'web' },
  { what: 'pod to a ClusterIP, endpoint on the other node', flow: tcp('default/client', '10.96.0.10', 80, { endpoint: '10.1.2.10' }), service: 'web' },
  { what: 'pod to a ClusterIP without ready endpoints (reject)', flow: tcp('default/client', '10.96.0.12', 80) },
  { what: 'pod to internalTrafficPolicy Local, no endpoint on its node (drop)', flow: tcp('default/client', '10.96.0.13', 80) },
  { what: 'pod to internalTrafficPolicy Local, endpoint on its node', flow: tcp('default/client-b', '10.96.0.13', 80) },
  { what: 'hairpin: an endpoint to itself through its ClusterIP', flow: tcp('default/web-a', '10.96.0.10', 80, { endpoint: '10.1.1.10' }), service: 'web' },
  { what: 'node to a ClusterIP (off-cluster source), endpoint on the other node', flow: tcp('node-a', '10.96.0.10', 80, { endpoint: '10.1.2.10' }), service: 'web' },
  { what: 'node to a ClusterIP (off-cluster source), endpoint on the node', flow: tcp('node-a', '10.96.0.10', 80, { endpoint: '10.1.1.10' }), service: 'web' },
  { what: 'outside to a NodePort (Cluster policy), endpoint on the other node', flow: tcp(OUTSIDE, '192.168.0.11', 30080, { enter: 'node-a', endpoint: '10.1.2.10' }), service: 'web' },
  { what: 'outside to a NodePort (Cluster policy), endpoint on the node', flow: tcp(OUTSIDE, '192.168.0.11', 30080, { enter: 'node-a', endpoint: '10.1.1.10' }), service: 'web' },
  { what: 'outside to a NodePort (Local policy), no local endpoint (drop)', flow: tcp(OUTSIDE, '192.168.0.11', 30081, { enter: 'node-a' }) },
  { what: 'outside to a NodePort (Local policy), local endpoint: source kept', flow: tcp(OUTSIDE, '192.168.0.12', 30081, { enter: 'node-b' }) },
  { what: 'outside to a NodePort without ready endpoints (reject)', flow: tcp(OUTSIDE, '192.168.0.11', 30082, { enter: 'node-a' }) },
  { what: 'outside to a ClusterIP routed to a node (off-cluster source)', flow: tcp(OUTSIDE, '10.96.0.10', 80, { enter: 'node-a', endpoint: '10.1.2.10' }), service: 'web' },
  { what: 'pod to another node\'s NodePort (Local policy): pod short-circuit there', flow: tcp('default/client', '192.168.0.12', 30081) },
  { what: 'node to another node\'s NodePort (Cluster policy)', flow: tcp('node-a', '192.168.0.12', 30080, { endpoint: '10.1.1.10' }), service: 'web' },
  { what: 'node to its own NodePort (Local policy, no local endpoint): node short-circuit', flow: tcp('node-a', '192.168.0.11', 30081) },
  { what: 'pod to a ClusterIP port the Service lacks', flow: tcp('default/client', '10.96.0.10', 8081) },
  { what: 'pod to an unallocated address of the service CIDR', flow: tcp('default/client', '10.96.0.99', 80) },
];

const SCENARIOS: { name: string; cni: CniDoc; gateway: boolean; masqueradeAll: boolean }[] = [
  { name: 'bridge host-gw, default route via a gateway', cni: { plugin: 'bridge', routes: 'host-gw' }, gateway: true, masqueradeAll: false },
  { name: 'flannel vxlan, no default route', cni: { plugin: 'flannel', backend: 'vxlan', network: CLUSTER_CIDR }, gateway: false, masqueradeAll: false },
  { name: 'flannel vxlan, default route, masqueradeAll', cni: { plugin: 'flannel', backend: 'vxlan', network: CLUSTER_CIDR }, gateway: true, masqueradeAll: true },
];

/** What the engine says happens, in the words the kernel's observation is put in. */
function engineSays(c: CompiledTopology, flow: FlowRequest): string {
  const a = answerFlow(c, { name: 'kernel', revision: 1 }, flow);
  const steps = a.hops.flatMap((h) => h.steps.map((s) => ({ netns: h.netns, s: s as { type: string; to?: string } })));
  const dnat = steps.find((x) => x.s.type === 'DNAT');
  const snat = steps.find((x) => x.s.type === 'SNAT');
  const at = dnat === undefined ? '' : ` (DNAT at ${dnat.netns})`;
  switch (a.disposition) {
    case 'DELIVERED':
      return `delivered to ${a.hops.at(-1)!.netns} from ${snat?.s.to ?? a.flow.src}${at}`;
    case 'REJECTED':
      return `rejected at ${a.hops.at(-1)!.netns}`;
    case 'DENIED':
      return 'dropped';
    case 'NO_ROUTE':
    case 'UNREACHABLE':
      return 'unreachable';
    default:
      return `${a.disposition} at ${a.hops.at(-1)!.netns}`;
  }
}

interface Kernel {
  realised: Realised;
  client: string;
  /** Endpoint pods: their kernel namespace, by pod name. */
  observers: Map<string, string>;
  nodes: Map<string, string>;
  /** Every namespace, the client's included. */
  all: string[];
}

/** Opens a TCP connection from a kernel namespace with a one-second timeout: what the client sees. */
async function connect(ns: string, dst: string, port: number): Promise<string> {
  try {
    await sh('ip', ['netns', 'exec', ns, 'timeout', '1', 'bash', '-c', `exec 3<>/dev/tcp/${dst}/${port}`]);
    return 'connected';
  } catch (err) {
    const m = (err as Error).message;
    if (/Connection refused/.test(m)) return 'refused';
    if (/Network is unreachable|No route to host/.test(m)) return 'unreachable';
    if ((err as { code?: number }).code === 124 || /timed out/.test(m)) return 'timeout';
    return `error: ${m.trim().split('\n').at(-1)}`;
  }
}

interface NftRule {
  rule?: { chain: string; expr: { counter?: { packets: number }; reject?: unknown; drop?: unknown }[] };
}

/** The rules with a counter a packet went through in a node: by chain, and what the rule does (dnat, reject, drop). */
async function countedRules(ns: string): Promise<[string, string][]> {
  const out = JSON.parse(await sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'ip', 'kube-proxy'])) as { nftables: NftRule[] };
  return out.nftables.flatMap((x) => {
    const r = x.rule;
    if (r === undefined || !r.expr.some((e) => (e.counter?.packets ?? 0) > 0)) return [];
    return [[r.chain, r.expr.some((e) => 'reject' in e) ? 'reject' : r.expr.some((e) => 'drop' in e) ? 'drop' : 'dnat']];
  });
}

/** The addresses a set of the `ptobs` table holds in a namespace. */
async function observed(ns: string, set: 'syn' | 'refused' | 'unreachable'): Promise<string[]> {
  const out = JSON.parse(await sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'set', 'ip', 'ptobs', set])) as { nftables: { set?: { elem?: string[] } }[] };
  return out.nftables.find((x) => x.set)?.set?.elem ?? [];
}

/** What the kernel did with the check's packet. */
async function kernelSays(k: Kernel, c: CompiledTopology, flow: FlowRequest): Promise<string> {
  const from = flow.enter !== undefined ? k.client : k.realised.nsName(c.resolve(flow.from, 'source').netns!);
  const client = await connect(from, flow.to, flow.port as number);
  const seen: string[] = [];
  for (const [pod, ns] of k.observers) for (const src of await observed(ns, 'syn')) seen.push(`${pod} from ${src}`);
  const counted = new Map<string, [string, string][]>();
  for (const [node, ns] of k.nodes) counted.set(node, await countedRules(ns));
  const nodes = (wanted: (chain: string, verdict: string) => boolean) =>
    [...counted].filter(([, rules]) => rules.some(([chain, verdict]) => wanted(chain, verdict))).map(([node]) => node).join(', ');
  const dnatAt = nodes((ch) => ch.startsWith('endpoint-'));
  const rejectAt = nodes((_, v) => v === 'reject');
  if (seen.length > 0) return `delivered to ${seen.join(' and ')}${dnatAt ? ` (DNAT at ${dnatAt})` : ''}`;
  const refused = client === 'refused' || (await observed(from, 'refused')).length > 0;
  if (refused) return rejectAt ? `rejected at ${rejectAt}` : 'refused, by no rule of kube-proxy';
  if (client === 'unreachable' || (await observed(from, 'unreachable')).length > 0) return 'unreachable';
  return client === 'timeout' ? 'dropped' : client;
}

/** Namespaces this test makes besides the realiser's: removed at exit, however the test ends. */
const mine = new Set<string>();
process.once('exit', () => {
  for (const ns of mine) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
});

async function prepare(c: CompiledTopology, doc: ClusterDoc, realised: Realised, prefix: string): Promise<Kernel> {
  const { fabric } = c;
  const nodes = new Map(doc.nodes.map((n) => [n.name, realised.nsName(fabric.byName.get(n.name)!)]));
  // The outside client: a namespace of its own plugged into the nodes' segment.
  const client = `${prefix}-c`;
  await sh('ip', ['netns', 'add', client]);
  mine.add(client);
  const eth0 = fabric.byName.get('node-a')!.links.find((l) => l.name === 'eth0')!;
  await sh('ip', ['-n', `${prefix}-sw`, 'link', 'add', 'pclient', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
  await sh('ip', ['-n', `${prefix}-sw`, 'link', 'set', 'pclient', 'master', `seg${eth0.segment}`, 'up']);
  await sh('ip', ['-n', client, '-batch', '-'], `addr add ${OUTSIDE}/24 dev eth0\nlink set eth0 up\nlink set lo up\n`);
  // flanneld's --ip-masq rules (FLANNEL-POSTRTG, flannel-io/flannel pkg/trafficmngr/iptables, as
  // src/engine/compile/masquerade.ts reads them): a pod's packet leaving the flannel network is masqueraded, and so is
  // one from outside it to another node's pod; kube-proxy's own masquerade is the kube-proxy table's.
  if (doc.cni?.plugin === 'flannel' && doc.cni.ipMasq !== false) {
    const network = doc.cni.network!;
    for (const n of doc.nodes) {
      const subnet = n.podCIDRs![0]!;
      await sh('ip', ['netns', 'exec', nodes.get(n.name)!, 'nft', '-f', '-'], [
        'table ip flannel {',
        '  chain postrtg {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    ip saddr ${subnet} ip daddr ${network} return`,
        `    ip saddr ${network} ip daddr ${subnet} return`,
        `    ip saddr != ${network} ip daddr ${subnet} return`,
        `    ip saddr ${network} ip daddr != 224.0.0.0/4 masquerade`,
        `    ip saddr != ${network} ip daddr ${network} masquerade`,
        '  }',
        '}',
        '',
      ].join('\n'));
    }
  }
  for (const ns of fabric.netns) {
    // The CNIs' hairpinMode (flannel's and the bridge plugin's configurations, kubelet's hairpin-veth): a pod's packet
    // that kube-proxy sends back to the pod itself leaves by the bridge port it came in by.
    for (const l of ns.links) {
      if (l.master >= 0) await sh('ip', ['-n', realised.nsName(ns), 'link', 'set', 'dev', l.name, 'type', 'bridge_slave', 'hairpin', 'on']);
    }
  }
  // Every namespace records the sources of the SYNs it gets to the target port (what the endpoint pods saw), and of
  // the ICMP port unreachable errors it gets (a client's socket can miss the first one: the kernel reports an ICMP
  // error that comes in while connect() holds the socket as a soft error, and waits for the retransmission).
  const all = [...fabric.netns.map((ns) => realised.nsName(ns)), client];
  for (const ns of all) {
    await sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], [
      'table ip ptobs {',
      '  set syn { type ipv4_addr; flags dynamic; }',
      '  set refused { type ipv4_addr; flags dynamic; }',
      '  set unreachable { type ipv4_addr; flags dynamic; }',
      '  chain observe {',
      '    type filter hook prerouting priority raw; policy accept;',
      `    tcp dport ${TARGET_PORT} tcp flags & (syn | ack) == syn add @syn { ip saddr }`,
      '    icmp type destination-unreachable icmp code port-unreachable add @refused { ip saddr }',
      '    icmp type destination-unreachable icmp code != port-unreachable add @unreachable { ip saddr }',
      '  }',
      '}',
      '',
    ].join('\n'));
  }
  const observers = new Map(['default/web-a', 'default/web-b', 'default/web-c'].map((pod) => [pod, realised.nsName(fabric.byName.get(pod)!)]));
  return { realised, client, observers, nodes, all };
}

const skip = namespacesWork() ?? (() => {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs nft (apt-get install nftables)';
  }
})();

test('the engine\'s Service answers agree with kube-proxy\'s nftables rules in the kernel', { skip, timeout: 10 * 60_000 }, async () => {
  const runPrefix = process.env.KERNEL_NETNS_PREFIX ?? `pt${randomBytes(2).toString('hex')}`;
  let compared = 0;
  const disagreements: string[] = [];
  const outcomes = new Map<string, number>();
  for (const [i, scenario] of SCENARIOS.entries()) {
    const doc = cluster(scenario.cni, scenario.gateway, scenario.masqueradeAll);
    const c = compileTopology(checkTopology({ cluster: doc }));
    const prefix = `${runPrefix}v${i}`;
    const realised = await realise(c.fabric, prefix);
    try {
      const k = await prepare(c, doc, realised, prefix);
      for (const check of CHECKS) {
        const pins = new Map(check.service && check.flow.endpoint ? [[`default/${check.service}`, check.flow.endpoint]] : []);
        for (const [node, ns] of k.nodes) {
          await sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], kubeProxyRules(doc, node, pins));
        }
        for (const ns of k.all) await sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], 'flush set ip ptobs syn\nflush set ip ptobs refused\nflush set ip ptobs unreachable\n');
        // An outside client reaches the service CIDR through the node it enters.
        if (check.flow.enter !== undefined) {
          const via = doc.nodes.find((n) => n.name === check.flow.enter)!.addresses![0]!.address;
          await sh('ip', ['-n', k.client, 'route', 'replace', '10.96.0.0/12', 'via', via]);
        }
        const engine = engineSays(c, check.flow);
        const kernel = await kernelSays(k, c, check.flow);
        compared++;
        outcomes.set(kernel.split(' ')[0]!, (outcomes.get(kernel.split(' ')[0]!) ?? 0) + 1);
        if (engine !== kernel) disagreements.push(`${scenario.name}: ${check.what} [${JSON.stringify(check.flow)}]: engine ${engine}; kernel ${kernel}`);
      }
    } finally {
      await sh('ip', ['netns', 'del', `${prefix}-c`]).catch(() => undefined);
      mine.delete(`${prefix}-c`);
      await realised.remove();
    }
  }
  const agreement = compared === 0 ? 1 : 1 - disagreements.length / compared;
  console.log(
    `kernel Services: ${SCENARIOS.length} clusters (${SCENARIOS.map((s) => s.name).join('; ')}), ${compared} checks compared, ` +
      `agreement ${(agreement * 100).toFixed(2)}%; kernel outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
  for (const d of disagreements) console.log(`  ${d}`);
  assert.equal(disagreements.length, 0, `${disagreements.length} disagreements`);
});
