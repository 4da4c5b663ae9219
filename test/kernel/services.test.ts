// The engine's Service answers against the kernel: small clusters with Services realised in network namespaces, each
// node programmed with the rules kube-proxy's nftables mode writes (kube-proxy-nft.ts), then with those of its iptables
// mode (kube-proxy-iptables.ts, applied with iptables-restore; the engine's document says the mode), and for every check
// a TCP connection opened, or UDP datagrams sent, from a pod, a node or a client outside the cluster. What the kernel
// did is read back from the namespaces (which endpoint pod saw the SYN or datagram and from which source, which node's
// endpoint chain or reject rule counted it, what the client got: refused, a timeout or an error, and what reached the
// nodes' default gateway, from which node) and compared with the engine's trace of the same flow (its disposition, the
// node of its DNAT step, the pod it delivers to and the source after its SNAT step). Needs root, nft and
// iptables-restore; `npm run test:kernel` runs it (KERNEL_NETNS_PREFIX names the namespaces).
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
import { kubeProxyIptablesRules } from './kube-proxy-iptables.js';
import { execFileSync } from 'node:child_process';

const CLUSTER_CIDR = '10.1.0.0/16';
/** The client outside the cluster: an address nobody in the model owns, on the nodes' subnet. */
const OUTSIDE = '192.168.0.200';
const TARGET_PORT = 8080;

/** A Service's UDP port has its TCP port's number; its NodePort is the TCP one's plus this. */
const UDP_NODEPORT_OFFSET = 1000;

const slice = (service: string, endpoints: { ip: string; node: string; ready?: boolean }[]) => ({
  metadata: { namespace: 'default', name: `${service}-x1`, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4' as const,
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true } })),
  ports: [
    { name: 'http', port: TARGET_PORT, protocol: 'TCP' as const },
    { name: 'dgram', port: TARGET_PORT, protocol: 'UDP' as const },
  ],
});

const service = (name: string, clusterIP: string, extra: { nodePort?: number; etp?: 'Local'; itp?: 'Local' }) => ({
  metadata: { namespace: 'default', name },
  spec: {
    type: extra.nodePort ? 'NodePort' : 'ClusterIP',
    clusterIP,
    clusterIPs: [clusterIP],
    ports: [
      { name: 'http', port: 80, targetPort: TARGET_PORT, protocol: 'TCP' as const, ...(extra.nodePort ? { nodePort: extra.nodePort } : {}) },
      {
        name: 'dgram',
        port: 80,
        targetPort: TARGET_PORT,
        protocol: 'UDP' as const,
        ...(extra.nodePort ? { nodePort: extra.nodePort + UDP_NODEPORT_OFFSET } : {}),
      },
    ],
    ...(extra.etp ? { externalTrafficPolicy: extra.etp } : {}),
    ...(extra.itp ? { internalTrafficPolicy: extra.itp } : {}),
  },
});

/**
 * Two nodes, a client pod and endpoint pods on each: default/web (NodePort 30080, Cluster policy; a ready endpoint on
 * each node, a not-ready one on node-b), web-local (NodePort 30081, externalTrafficPolicy Local, its endpoint on node-b),
 * empty (NodePort 30082, no ready endpoint) and web-internal (internalTrafficPolicy Local, its endpoint on node-b); each
 * with a TCP port 80 and a UDP port 80 (NodePorts 3108x), both to the pods' port 8080.
 */
function cluster(cni: CniDoc, gateway: boolean, masqueradeAll: boolean, mode: Mode): ClusterDoc {
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
    kubeProxy: { mode, clusterCIDR: CLUSTER_CIDR, ...(masqueradeAll ? { [mode]: { masqueradeAll } } : {}) },
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

type Mode = 'nftables' | 'iptables';
const MODES: Mode[] = ['nftables', 'iptables'];

interface Check {
  what: string;
  flow: FlowRequest;
  /** The Service whose endpoint `flow.endpoint` pins (its rules offer only that one). */
  service?: string;
  /** The kube-proxy modes the check is run in (all when absent). */
  modes?: Mode[];
}

const tcp = (from: string, to: string, port: number, more: Partial<FlowRequest> = {}): FlowRequest => ({ from, to, protocol: 'tcp', port, ...more });

/** The same check over UDP: the Service's UDP port (a NodePort's UDP twin). */
const overUdp = (check: Check): Check => {
  const port = check.flow.port as number;
  return { ...check, what: `${check.what}, UDP`, flow: { ...check.flow, protocol: 'udp', port: port >= 30000 ? port + UDP_NODEPORT_OFFSET : port } };
};

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
  // The iptables mode's NodePorts answer on every local address (nodePortAddresses' default there), 127.0.0.1 included
  // (localhostNodePorts, with route_localnet); the nftables mode's on the primary address only.
  { what: 'node to 127.0.0.1 at a NodePort (Cluster policy), endpoint on the other node', flow: tcp('node-a', '127.0.0.1', 30080, { endpoint: '10.1.2.10' }), service: 'web', modes: ['iptables'] },
  { what: 'node to 127.0.0.1 at a NodePort (Local policy), local endpoint', flow: tcp('node-b', '127.0.0.1', 30081), modes: ['iptables'] },
];
// A UDP twin of the checks whose verdicts differ (delivered, masqueraded or kept, rejected with ICMP, dropped, routed on).
for (const i of [1, 2, 3, 5, 6, 8, 10, 11, 12, 17]) CHECKS.push(overUdp(CHECKS[i]!));

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
    case 'EXITS_NETWORK':
      return `exits the network at ${a.hops.at(-1)!.netns} from ${snat?.s.to ?? a.flow.src}`;
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
  /** The nodes by their eth0's MAC address: who sent a packet to the default gateway. */
  macs: Map<string, string>;
}

/**
 * What the client sees: a TCP connection opened from a kernel namespace with a one-second timeout, or two UDP
 * datagrams on a connected socket 0.3 s apart (an ICMP error the first one drew fails the second write: refused for
 * port unreachable; no error at all is `sent`).
 */
async function connect(ns: string, protocol: string, dst: string, port: number): Promise<string> {
  const script = protocol === 'udp' ? `exec 3<>/dev/udp/${dst}/${port}; printf x >&3; sleep 0.3; printf x >&3` : `exec 3<>/dev/tcp/${dst}/${port}`;
  try {
    await sh('ip', ['netns', 'exec', ns, 'timeout', '1', 'bash', '-c', script]);
    return protocol === 'udp' ? 'sent' : 'connected';
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

/**
 * What kube-proxy's rules that a packet went through in a node did: `endpoint` (an endpoint chain's DNAT), `reject` or
 * `drop`, read from the counters of the nftables table or of iptables-save.
 */
async function countedRules(ns: string, mode: Mode): Promise<string[]> {
  if (mode === 'iptables') {
    // `[packets:bytes] -A CHAIN … -j TARGET`, both tables.
    const saved = await sh('ip', ['netns', 'exec', ns, 'iptables-save', '-c']);
    return [...saved.matchAll(/^\[(\d+):\d+\] -A (\S+) .*-j (\S+)/gm)].flatMap(([, packets, chain, target]) => {
      if (packets === '0') return [];
      if (chain!.startsWith('KUBE-SEP-') && target === 'DNAT') return ['endpoint'];
      return target === 'REJECT' ? ['reject'] : target === 'DROP' ? ['drop'] : [];
    });
  }
  const out = JSON.parse(await sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'ip', 'kube-proxy'])) as { nftables: NftRule[] };
  return out.nftables.flatMap((x) => {
    const r = x.rule;
    if (r === undefined || !r.expr.some((e) => (e.counter?.packets ?? 0) > 0)) return [];
    return [r.expr.some((e) => 'reject' in e) ? 'reject' : r.expr.some((e) => 'drop' in e) ? 'drop' : r.chain.startsWith('endpoint-') ? 'endpoint' : 'other'];
  });
}

/** The addresses a set of the `ptobs` table holds in a namespace. */
async function observed(ns: string, set: 'syn' | 'refused' | 'unreachable'): Promise<string[]>;
async function observed(ns: string, set: 'exited'): Promise<{ concat: [string, string] }[]>;
async function observed(ns: string, set: string): Promise<unknown[]> {
  const out = JSON.parse(await sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'set', 'ip', 'ptobs', set])) as { nftables: { set?: { elem?: unknown[] } }[] };
  return out.nftables.find((x) => x.set)?.set?.elem ?? [];
}

/** What the kernel did with the check's packet, sent from the namespace `from`. */
async function kernelSays(k: Kernel, from: string, flow: FlowRequest, mode: Mode): Promise<string> {
  const client = await connect(from, flow.protocol!, flow.to, flow.port as number);
  const seen = (await Promise.all([...k.observers].map(async ([pod, ns]) => (await observed(ns, 'syn')).map((src) => `${pod} from ${src}`)))).flat();
  const counted = new Map(await Promise.all([...k.nodes].map(async ([node, ns]) => [node, await countedRules(ns, mode)] as const)));
  const nodes = (what: string) => [...counted].filter(([, did]) => did.includes(what)).map(([node]) => node).join(', ');
  const dnatAt = nodes('endpoint');
  const rejectAt = nodes('reject');
  if (seen.length > 0) return `delivered to ${seen.join(' and ')}${dnatAt ? ` (DNAT at ${dnatAt})` : ''}`;
  const exited = (await observed(k.client, 'exited')).map(({ concat: [mac, src] }) => `${k.macs.get(mac) ?? mac} from ${src}`);
  if (exited.length > 0) return `exits the network at ${exited.join(' and ')}`;
  const refused = client === 'refused' || (await observed(from, 'refused')).length > 0;
  if (refused) return rejectAt ? `rejected at ${rejectAt}` : 'refused, by no rule of kube-proxy';
  if (client === 'unreachable' || (await observed(from, 'unreachable')).length > 0) return 'unreachable';
  return client === 'timeout' || client === 'sent' ? 'dropped' : client;
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
  // It is the nodes' default gateway too, when they have one: what leaves the cluster there is seen arriving (the
  // namespace does not forward it).
  const gateway = doc.network?.gateway === undefined ? '' : `addr add ${doc.network.gateway}/24 dev eth0\n`;
  await sh('ip', ['-n', client, '-batch', '-'], `addr add ${OUTSIDE}/24 dev eth0\n${gateway}link set eth0 up\nlink set lo up\n`);
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
  // Every namespace records the sources of the SYNs and datagrams it gets to the target port (what the endpoint pods
  // saw: no listener is needed to see a packet arrive), of the ICMP port unreachable errors it gets (a client's socket
  // can miss the first one: the kernel reports an ICMP error that comes in while connect() holds the socket as a soft
  // error, and waits for the retransmission), and the sender (MAC and address) of what it gets for another address
  // (the outside client's namespace, when it is the gateway: what left the cluster).
  for (const ns of [...fabric.netns.map((n) => realised.nsName(n)), client]) {
    await sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], [
      'table ip ptobs {',
      '  set syn { type ipv4_addr; flags dynamic; }',
      '  set refused { type ipv4_addr; flags dynamic; }',
      '  set unreachable { type ipv4_addr; flags dynamic; }',
      '  set exited { type ether_addr . ipv4_addr; flags dynamic; }',
      '  chain observe {',
      '    type filter hook prerouting priority raw; policy accept;',
      `    tcp dport ${TARGET_PORT} tcp flags & (syn | ack) == syn add @syn { ip saddr }`,
      `    udp dport ${TARGET_PORT} add @syn { ip saddr }`,
      '    icmp type destination-unreachable icmp code port-unreachable add @refused { ip saddr }',
      '    icmp type destination-unreachable icmp code != port-unreachable add @unreachable { ip saddr }',
      // Unicast only: on kernel 6.18 a packet from 0.0.0.0 by a MAC of no node (a link of this run coming up; IGMP
      // reports have that source) arrived during ClusterIP checks and was taken for the check's packet leaving.
      '    fib daddr type unicast add @exited { ether saddr . ip saddr }',
      '  }',
      '}',
      '',
    ].join('\n'));
  }
  const observers = new Map(['default/web-a', 'default/web-b', 'default/web-c'].map((pod) => [pod, realised.nsName(fabric.byName.get(pod)!)]));
  const macs = new Map<string, string>();
  for (const [node, ns] of nodes) {
    const [link] = JSON.parse(await sh('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])) as { address: string }[];
    macs.set(link!.address, node);
  }
  return { realised, client, observers, nodes, macs };
}

const SETS = ['syn', 'refused', 'unreachable', 'exited'];

const skip = namespacesWork() ?? (() => {
  for (const [tool, pkg] of [['nft', 'nftables'], ['iptables-restore', 'iptables']]) {
    try {
      execFileSync(tool!, ['--version'], { stdio: 'ignore' });
    } catch {
      return `needs ${tool} (apt-get install ${pkg})`;
    }
  }
  return undefined;
})();

/** Programs `node`'s kube-proxy rules of `mode` (replacing the check before's). */
async function program(ns: string, doc: ClusterDoc, node: string, mode: Mode, pins: ReadonlyMap<string, string>): Promise<void> {
  if (mode === 'iptables') await sh('ip', ['netns', 'exec', ns, 'iptables-restore'], kubeProxyIptablesRules(doc, node, pins));
  else await sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], kubeProxyRules(doc, node, pins));
}

test('the engine\'s Service answers agree with kube-proxy\'s nftables and iptables rules in the kernel', { skip, timeout: 15 * 60_000 }, async () => {
  const runPrefix = process.env.KERNEL_NETNS_PREFIX ?? `pt${randomBytes(2).toString('hex')}`;
  const started = Date.now();
  const compared = new Map<string, number>();
  const disagreements: string[] = [];
  const outcomes = new Map<string, number>();
  for (const [i, scenario] of SCENARIOS.entries()) {
    // One realised cluster per scenario: the kube-proxy mode changes no link, address or route.
    const fabricOf = compileTopology(checkTopology({ cluster: cluster(scenario.cni, scenario.gateway, scenario.masqueradeAll, MODES[0]!) }));
    const prefix = `${runPrefix}v${i}`;
    const realised = await realise(fabricOf.fabric, prefix);
    try {
      const k = await prepare(fabricOf, cluster(scenario.cni, scenario.gateway, scenario.masqueradeAll, MODES[0]!), realised, prefix);
      for (const mode of MODES) {
        const doc = cluster(scenario.cni, scenario.gateway, scenario.masqueradeAll, mode);
        const c = compileTopology(checkTopology({ cluster: doc }));
        if (mode === 'iptables') {
          for (const ns of k.nodes.values()) {
            await sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'ip', 'kube-proxy']);
            // kube-proxy sets it for localhostNodePorts: a packet from 127.0.0.1, DNATed, may leave the node.
            await sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1']);
          }
        }
        for (const check of CHECKS) {
          if (check.modes !== undefined && !check.modes.includes(mode)) continue;
          const pins = new Map(check.service && check.flow.endpoint ? [[`default/${check.service}`, check.flow.endpoint]] : []);
          const from = check.flow.enter !== undefined ? k.client : realised.nsName(c.resolve(check.flow.from, 'source').netns!);
          // The namespaces kernelSays reads the sets of: the endpoint pods, the sender, the outside client (the gateway).
          const watched = new Set([...k.observers.values(), from, k.client]);
          await Promise.all([
            ...[...k.nodes].map(([node, ns]) => program(ns, doc, node, mode, pins)),
            ...[...watched].map((ns) => sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], SETS.map((set) => `flush set ip ptobs ${set}\n`).join(''))),
          ]);
          // An outside client reaches the service CIDR through the node it enters.
          if (check.flow.enter !== undefined) {
            const via = doc.nodes.find((n) => n.name === check.flow.enter)!.addresses![0]!.address;
            await sh('ip', ['-n', k.client, 'route', 'replace', '10.96.0.0/12', 'via', via]);
          }
          const engine = engineSays(c, check.flow);
          const kernel = await kernelSays(k, from, check.flow, mode);
          const kind = `${mode} ${check.flow.protocol}`;
          compared.set(kind, (compared.get(kind) ?? 0) + 1);
          outcomes.set(kernel.split(' ')[0]!, (outcomes.get(kernel.split(' ')[0]!) ?? 0) + 1);
          if (engine !== kernel) disagreements.push(`${scenario.name}, ${mode}: ${check.what} [${JSON.stringify(check.flow)}]: engine ${engine}; kernel ${kernel}`);
        }
      }
    } finally {
      await sh('ip', ['netns', 'del', `${prefix}-c`]).catch(() => undefined);
      mine.delete(`${prefix}-c`);
      await realised.remove();
    }
  }
  const total = [...compared.values()].reduce((a, b) => a + b, 0);
  const agreement = total === 0 ? 1 : 1 - disagreements.length / total;
  console.log(
    `kernel Services: ${SCENARIOS.length} clusters (${SCENARIOS.map((s) => s.name).join('; ')}), ${total} checks compared ` +
      `${JSON.stringify(Object.fromEntries(compared))} in ${((Date.now() - started) / 1000).toFixed(0)} s, ` +
      `agreement ${(agreement * 100).toFixed(2)}%; kernel outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`,
  );
  for (const d of disagreements) console.log(`  ${d}`);
  assert.equal(disagreements.length, 0, `${disagreements.length} disagreements`);
});
