// NetworkPolicy (networking.k8s.io/v1) compiled for the walk: per pod, the policies that select it for each direction,
// and per rule the pods its peers match (a sorted list of pod numbers, or the namespaces all of whose pods match), so
// that a verdict reads integers only: the policies of one pod, their rules, a binary search per peer. Selectors are
// evaluated here, once, when a topology is compiled (selector.ts).
//
// The semantics are the API's: a pod is isolated for a direction when a policy that selects it lists the direction in
// policyTypes (absent: Ingress, and Egress when the policy has egress rules); an isolated pod takes a connection when
// some rule of some policy selecting it admits the peer and the port. A rule without peers admits every peer, without
// ports every port; a peer with podSelector alone means pods of the policy's namespace, with namespaceSelector alone
// every pod of the namespaces it selects, with both those pods of those namespaces; an ipBlock matches addresses.
import type { Addr } from '../addr.js';
import { Prefix, parseAddrBits } from '../prefix.js';
import type { ClusterDoc, LabelSelectorDoc, NetworkPolicyDoc, PolicyPeerDoc, PolicyPortDoc } from '../../topology/schema.js';
import { isEmpty, matches, type Labels } from './selector.js';
import type { AdminPolicies } from './admin.js';

/** Protocol numbers of the walk: NetworkPolicy's three, and ICMP, which no port entry admits. */
export const TCP = 0;
export const UDP = 1;
export const SCTP = 2;
export const ICMP = 3;
export const PROTOCOL_NAMES = ['TCP', 'UDP', 'SCTP', 'ICMP'] as const;
export const protocolNumber = (p: string): number => Math.max(0, PROTOCOL_NAMES.indexOf(p.toUpperCase() as (typeof PROTOCOL_NAMES)[number]));

/** Verdicts: no policy selects the pod for the direction; a rule admits the connection; none does; the pod's own node. */
export const NOT_ISOLATED = 0;
export const ALLOWED = 1;
export const DENIED = 2;
export const FROM_NODE = 3;

const PODS = 0;
const NAMESPACES = 1;
const IPBLOCK = 2;

export interface CompiledPeer {
  readonly kind: number;
  /** PODS: the pod numbers the peer matches, sorted. */
  readonly pods: Int32Array;
  /** NAMESPACES: 1 for each namespace all of whose pods match. */
  readonly namespaces: Uint8Array;
  readonly cidr: Prefix | undefined;
  readonly except: readonly Prefix[];
}

export interface CompiledPort {
  readonly protocol: number;
  /** 0: every port of the protocol. */
  readonly port: number;
  /** The last port of a range; the port itself without endPort. */
  readonly endPort: number;
  /** A named port's number in PolicySet.portNames, or -1. */
  readonly name: number;
}

export interface CompiledRule {
  /** Empty: every peer. */
  readonly peers: readonly CompiledPeer[];
  /** Empty: every port and protocol. */
  readonly ports: readonly CompiledPort[];
}

export interface CompiledPolicy {
  readonly name: string;
  readonly namespace: string;
  readonly doc: NetworkPolicyDoc;
  /** Undefined when the policy does not isolate for the direction. */
  readonly ingress: readonly CompiledRule[] | undefined;
  readonly egress: readonly CompiledRule[] | undefined;
}

export interface PolicyPod {
  /** namespace/name. */
  readonly key: string;
  readonly namespace: number;
  readonly labels: Labels;
  /** The pod's netns, and its node's. */
  readonly netns: number;
  readonly node: number;
}

export interface PolicyNamespace {
  readonly name: string;
  readonly labels: Labels;
}

/** Where a verdict came from: the allowing policy, rule, peer (-1: the rule has none) and port (-1: none). */
export class Verdict {
  policy = -1;
  rule = -1;
  peer = -1;
  port = -1;
  /** The tier that decided (admin.ts: NETWORK_POLICY, ADMIN, BASELINE), and an ANP rule that passed the connection on. */
  tier = 0;
  passPolicy = -1;
  passRule = -1;

  found(policy: number, rule: number, peer: number, port: number): void {
    this.policy = policy;
    this.rule = rule;
    this.peer = peer;
    this.port = port;
  }
}

/** What the fabric compiler tells about where pods and nodes are. */
export interface Placement {
  readonly netnsCount: number;
  /** The netns of a pod with a netns of its own, by namespace/name (undefined for hostNetwork pods). */
  podNetns(key: string): number | undefined;
  nodeNetns(name: string): number;
}

export const METADATA_NAME = 'kubernetes.io/metadata.name';

export class PolicySet {
  readonly pods: PolicyPod[] = [];
  readonly namespaces: PolicyNamespace[] = [];
  readonly policies: CompiledPolicy[] = [];
  readonly portNames: string[] = [];
  /** AdminNetworkPolicies and the BaselineAdminNetworkPolicy, when the cluster has any (admin.ts). */
  admin: AdminPolicies | undefined = undefined;
  /** The pod number of every netns, or -1. */
  readonly podOfNetns: Int32Array;
  private readonly ingressStart: Int32Array;
  private readonly ingressOf: Int32Array;
  private readonly egressStart: Int32Array;
  private readonly egressOf: Int32Array;
  /** Per pod, its named ports as (name, protocol, number) triples from namedStart[pod] to namedStart[pod + 1]. */
  private readonly namedStart: Int32Array;
  private readonly named: Int32Array;

  constructor(cluster: ClusterDoc, placement: Placement) {
    const nsIndex = new Map<string, number>();
    const namespace = (name: string, labels: Labels = {}) => {
      let i = nsIndex.get(name);
      if (i === undefined) {
        nsIndex.set(name, (i = this.namespaces.length));
        this.namespaces.push({ name, labels: { ...labels, [METADATA_NAME]: name } });
      }
      return i;
    };
    for (const ns of cluster.namespaces ?? []) namespace(ns.name, ns.labels);
    const nameIndex = new Map<string, number>();
    const portName = (name: string) => {
      let i = nameIndex.get(name);
      if (i === undefined) nameIndex.set(name, (i = this.portNames.push(name) - 1));
      return i;
    };

    this.podOfNetns = new Int32Array(placement.netnsCount).fill(-1);
    const podsOfNs: number[][] = [];
    const named: number[] = [];
    const namedStart: number[] = [0];
    for (const pod of cluster.pods ?? []) {
      const key = `${pod.namespace ?? 'default'}/${pod.name}`;
      const netns = placement.podNetns(key);
      // A hostNetwork pod is its node as far as packets go: NetworkPolicy does not apply to it, and peers see the node.
      if (netns === undefined || pod.hostNetwork) continue;
      const n = this.pods.length;
      const ns = namespace(pod.namespace ?? 'default');
      this.pods.push({ key, namespace: ns, labels: pod.labels ?? {}, netns, node: placement.nodeNetns(pod.nodeName) });
      this.podOfNetns[netns] = n;
      (podsOfNs[ns] ??= []).push(n);
      for (const p of pod.ports ?? []) if (p.name !== undefined) named.push(portName(p.name), protocolNumber(p.protocol ?? 'TCP'), p.containerPort);
      namedStart.push(named.length);
    }
    this.named = Int32Array.from(named);
    this.namedStart = Int32Array.from(namedStart);

    const podsIn = (ns: number) => podsOfNs[ns] ?? [];
    const selectNamespaces = (selector: LabelSelectorDoc) => {
      const chosen = new Uint8Array(this.namespaces.length);
      this.namespaces.forEach((ns, i) => (chosen[i] = matches(selector, ns.labels) ? 1 : 0));
      return chosen;
    };
    const NONE_PODS = new Int32Array(0);
    const NONE_NS = new Uint8Array(0);
    // Clusters repeat selectors (every policy of a namespace names the same few apps): a peer, and the pods a policy
    // selects, are computed once per distinct selector and namespace.
    const peers = new Map<string, CompiledPeer>();
    const peer = (doc: PolicyPeerDoc, own: number): CompiledPeer => {
      const key = `${doc.namespaceSelector === undefined ? own : ''}|${JSON.stringify([doc.namespaceSelector, doc.podSelector, doc.ipBlock])}`;
      let compiled = peers.get(key);
      if (compiled === undefined) peers.set(key, (compiled = compilePeer(doc, own)));
      return compiled;
    };
    const compilePeer = (doc: PolicyPeerDoc, own: number): CompiledPeer => {
      if (doc.ipBlock !== undefined) {
        const cidr = lenientPrefix(doc.ipBlock.cidr);
        return { kind: IPBLOCK, pods: NONE_PODS, namespaces: NONE_NS, cidr, except: (doc.ipBlock.except ?? []).map(lenientPrefix) };
      }
      const namespaces = doc.namespaceSelector === undefined ? undefined : selectNamespaces(doc.namespaceSelector);
      if (namespaces !== undefined && (doc.podSelector === undefined || isEmpty(doc.podSelector))) {
        return { kind: NAMESPACES, pods: NONE_PODS, namespaces, cidr: undefined, except: [] };
      }
      const selector = doc.podSelector ?? {};
      const pods: number[] = [];
      const scan = (ns: number) => {
        for (const p of podsIn(ns)) if (matches(selector, this.pods[p]!.labels)) pods.push(p);
      };
      if (namespaces === undefined) scan(own);
      else namespaces.forEach((chosen, ns) => chosen && scan(ns));
      return { kind: PODS, pods: Int32Array.from(pods).sort(), namespaces: NONE_NS, cidr: undefined, except: [] };
    };
    const port = (doc: PolicyPortDoc): CompiledPort => {
      const protocol = protocolNumber(doc.protocol ?? 'TCP');
      if (typeof doc.port === 'string') return { protocol, port: 0, endPort: 0, name: portName(doc.port) };
      const number = doc.port ?? 0;
      return { protocol, port: number, endPort: doc.endPort ?? number, name: -1 };
    };
    const rules = (list: readonly { from?: PolicyPeerDoc[]; to?: PolicyPeerDoc[]; ports?: PolicyPortDoc[] }[] | undefined, own: number) =>
      (list ?? []).map((r) => ({ peers: (r.from ?? r.to ?? []).map((p) => peer(p, own)), ports: (r.ports ?? []).map(port) }));

    const ingressOf: number[][] = [];
    const egressOf: number[][] = [];
    const selected = new Map<string, number[]>();
    const select = (own: number, selector: LabelSelectorDoc) => {
      const key = `${own}|${JSON.stringify(selector)}`;
      let pods = selected.get(key);
      if (pods === undefined) selected.set(key, (pods = podsIn(own).filter((p) => matches(selector, this.pods[p]!.labels))));
      return pods;
    };
    for (const doc of cluster.networkPolicies ?? []) {
      const nsName = doc.metadata.namespace ?? 'default';
      const own = namespace(nsName);
      const { spec } = doc;
      const types = spec.policyTypes ?? ['Ingress', ...((spec.egress ?? []).length > 0 ? ['Egress' as const] : [])];
      const isolatesIngress = types.includes('Ingress');
      const isolatesEgress = types.includes('Egress');
      const n = this.policies.length;
      this.policies.push({
        name: doc.metadata.name,
        namespace: nsName,
        doc,
        ingress: isolatesIngress ? rules(spec.ingress, own) : undefined,
        egress: isolatesEgress ? rules(spec.egress, own) : undefined,
      });
      for (const p of select(own, spec.podSelector)) {
        if (isolatesIngress) (ingressOf[p] ??= []).push(n);
        if (isolatesEgress) (egressOf[p] ??= []).push(n);
      }
    }
    [this.ingressStart, this.ingressOf] = csr(ingressOf, this.pods.length);
    [this.egressStart, this.egressOf] = csr(egressOf, this.pods.length);
  }

  /** The policies that isolate the pod for the direction, by number. */
  isolating(egress: boolean, pod: number): Int32Array {
    return egress
      ? this.egressOf.subarray(this.egressStart[pod]!, this.egressStart[pod + 1]!)
      : this.ingressOf.subarray(this.ingressStart[pod]!, this.ingressStart[pod + 1]!);
  }

  /**
   * The verdict on a connection for one direction at pod `subject`: egress to, or ingress from, the peer (a pod number
   * or -1, its address, and its netns or -1). `dstPod` is the destination pod, where a named port is looked up (the
   * subject for ingress, the peer for egress). Fills `v` with the allowing rule.
   */
  evaluate(v: Verdict, egress: boolean, subject: number, peerPod: number, peerAddr: Addr, peerNetns: number, protocol: number, port: number): number {
    const start = egress ? this.egressStart : this.ingressStart;
    const of = egress ? this.egressOf : this.ingressOf;
    const from = start[subject]!;
    const to = start[subject + 1]!;
    if (from === to) return NOT_ISOLATED;
    const dstPod = egress ? peerPod : subject;
    for (let i = from; i < to; i++) {
      const policy = this.policies[of[i]!]!;
      const rules = (egress ? policy.egress : policy.ingress)!;
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r]!;
        const pe = this.matchPeer(rule.peers, peerPod, peerAddr);
        if (pe < -1) continue;
        const po = this.matchPort(rule.ports, protocol, port, dstPod);
        if (po < -1) continue;
        v.found(of[i]!, r, pe, po);
        return ALLOWED;
      }
    }
    // Kubernetes documents that a pod cannot block its own node (the kubelet's probes come from it); plugins follow.
    if (!egress && peerNetns >= 0 && peerNetns === this.pods[subject]!.node) return FROM_NODE;
    return DENIED;
  }

  /**
   * What NetworkPolicy can tell about a source pod: the policies that isolate its egress, and every ingress peer of
   * every policy that matches it (by its labels, namespace or address). Two sources with the same key get the same
   * verdicts from every destination, so a reachability matrix traces one of them for both.
   */
  sourceKey(pod: number, addr: Addr): string {
    const key = [...this.isolating(true, pod)].join(',');
    const matched: string[] = [];
    this.policies.forEach((policy, n) =>
      policy.ingress?.forEach((rule, r) => rule.peers.forEach((peer, p) => this.matchPeer([peer], pod, addr) === 0 && matched.push(`${n}.${r}.${p}`))),
    );
    return `${key}|${matched.join(',')}${this.admin === undefined ? '' : `|${this.admin.sourceKey(pod, addr)}`}`;
  }

  /** The first peer of the rule that matches (-1 when the rule has none: every peer does), or -2. */
  matchPeer(peers: readonly CompiledPeer[], pod: number, addr: Addr): number {
    if (peers.length === 0) return -1;
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]!;
      if (p.kind === IPBLOCK) {
        if (p.cidr!.contains(addr)) {
          let excepted = false;
          for (let e = 0; e < p.except.length && !excepted; e++) excepted = p.except[e]!.contains(addr);
          if (!excepted) return i;
        }
      } else if (pod >= 0) {
        if (p.kind === NAMESPACES ? p.namespaces[this.pods[pod]!.namespace] === 1 : search(p.pods, pod)) return i;
      }
    }
    return -2;
  }

  /** The first port entry of the rule that admits the protocol and port (-1 when the rule has none), or -2. */
  matchPort(ports: readonly CompiledPort[], protocol: number, port: number, dstPod: number): number {
    if (ports.length === 0) return -1;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p.protocol !== protocol) continue;
      if (p.name >= 0) {
        if (this.namedPort(dstPod, p.name, protocol) === port && port > 0) return i;
      } else if (p.port === 0 || (port >= p.port && port <= p.endPort)) return i;
    }
    return -2;
  }

  /** The number a pod gives a port name for a protocol, or -1. */
  namedPort(pod: number, name: number, protocol: number): number {
    if (pod < 0) return -1;
    const named = this.named;
    for (let i = this.namedStart[pod]!; i < this.namedStart[pod + 1]!; i += 3) {
      if (named[i] === name && named[i + 1] === protocol) return named[i + 2]!;
    }
    return -1;
  }
}

/** An ipBlock's CIDR: the API server takes host bits (net.ParseCIDR), so they are cleared here, not refused. */
export function lenientPrefix(text: string): Prefix {
  const { addr, bits } = parseAddrBits(text, 'CIDR');
  return Prefix.of(addr, bits);
}

export function csr(lists: number[][], n: number): [Int32Array, Int32Array] {
  const start = new Int32Array(n + 1);
  for (let p = 0; p < n; p++) start[p + 1] = start[p]! + (lists[p]?.length ?? 0);
  const flat = new Int32Array(start[n]!);
  for (let p = 0; p < n; p++) flat.set(lists[p] ?? [], start[p]!);
  return [start, flat];
}

export function search(sorted: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
