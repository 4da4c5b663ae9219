// kube-proxy's decision for a packet that met a Service port on a node: which endpoints it may be sent to (the cluster
// or the node-local policy chain, after CategorizeEndpoints), or why it is rejected or dropped, and whether it is
// marked for masquerade. The rules are those syncProxyRules writes (pkg/proxy/iptables/proxier.go), read in order:
//   ClusterIP: KUBE-SERVICES → the internal policy chain, marking for masquerade with masqueradeAll or a source that is
//     not from a pod (`! -s clusterCIDR`); no internal endpoints: DROP when there are endpoints elsewhere
//     (internalTrafficPolicy Local), REJECT when there are none.
//   externalIP, load-balancer IP, NodePort: the load-balancer firewall (loadBalancerSourceRanges) first, then KUBE-EXT:
//     Cluster policy masquerades and goes to the cluster chain; Local policy sends pod traffic to the cluster chain
//     (short-circuit), masquerades the node's own traffic and sends it to the cluster chain too, and the rest to the
//     local chain, or DROP when the node has no local endpoint (REJECT when nothing anywhere).
// Everything is written into a Decision the caller owns: the walk allocates nothing here.
import type { Family } from '../addr.js';
import { READY, SERVING, TERMINATING } from './endpoints.js';
import { CLUSTER_IP, EXTERNAL, ETP_LOCAL, FIREWALL, ITP_LOCAL, LOAD_BALANCER, SP, SP_CLUSTER, SP_CLUSTER_END, SP_FALLBACK, SP_FLAGS, SP_READY, SAME_NODE, type ServiceTable } from './table.js';

/** Verdicts. */
export const DNAT = 0;
/** No usable endpoint anywhere: REJECT (ICMP port unreachable, TCP reset). */
export const REJECT = 1;
/** Local policy and no endpoint on this node: DROP. */
export const DROP_NO_LOCAL = 2;
/** A load-balancer IP whose loadBalancerSourceRanges do not hold the source: DROP by KUBE-PROXY-FIREWALL. */
export const DROP_SOURCE_RANGE = 3;
export const VERDICTS = ['dnat', 'reject', 'no-local-endpoints', 'source-range'] as const;

/** Chains. */
export const CLUSTER = 0;
export const LOCAL = 1;
export const CHAINS = ['cluster', 'local'] as const;

/** Why the chain was taken (beyond the plain policy). */
export const POLICY = 0;
/** externalTrafficPolicy Local, but the packet is from a pod: it goes to every endpoint, as if via the load balancer. */
export const SHORT_CIRCUIT_POD = 1;
/** externalTrafficPolicy Local, but the node itself sends it: cluster chain, masqueraded. */
export const SHORT_CIRCUIT_NODE = 2;
export const ROUTES = ['policy', 'pod-short-circuit', 'node-short-circuit'] as const;

/** Masquerade reasons. */
export const NO_MASQ = 0;
export const MASQ_ALL = 1;
export const MASQ_OFF_CLUSTER = 2;
export const MASQ_EXTERNAL = 3;
export const MASQ_LOCAL_SOURCE = 4;
export const MASQ_HAIRPIN = 5;
export const MASQ_REASONS = ['none', 'masquerade-all', 'off-cluster', 'external-cluster-policy', 'node-source', 'hairpin'] as const;

export class Decision {
  verdict = DNAT;
  chain = CLUSTER;
  route = POLICY;
  masq = NO_MASQ;
  /** The zone topology-aware routing filtered the cluster chain by, or -1. */
  zone = -1;
  /** PreferSameNode filtered the cluster chain to the endpoints hinted for the node. */
  sameNode = false;
  /**
   * The endpoints of the chain (indices into the table's endpoint arrays): `count` of them from `first` in `list`, which
   * is the table's cluster chain of the port (ServiceTable.clusterEps) or the node's own endpoints in `local`.
   */
  list: Int32Array = EMPTY;
  first = 0;
  count = 0;
  local = new Int32Array(64);

  /** The chain's i-th endpoint. */
  candidate(i: number): number {
    return this.list[this.first + i]!;
  }
}

const EMPTY = new Int32Array(0);

/** The source as kube-proxy's rules see it: from a pod (its local detector), or from the node itself (src-type LOCAL). */
export interface Source {
  readonly family: Family;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
}

/**
 * Decides for a packet that met Service port `sp` through a frontend of `kind` on `node`. `fromPod`: kube-proxy's local
 * detector counts the source as a pod; `fromNode`: the source address is one of the node's own.
 */
export function decide(
  t: ServiceTable,
  d: Decision,
  sp: number,
  kind: number,
  node: number,
  fromPod: boolean,
  fromNode: boolean,
  detector: boolean,
  s: Source,
): void {
  const facts = t.spFacts;
  const at = SP * sp;
  const flags = facts[at + SP_FLAGS]!;
  const readyAny = facts[at + SP_READY]!;
  const fallbackAny = facts[at + SP_FALLBACK]!;
  d.masq = NO_MASQ;
  d.route = POLICY;
  d.count = 0;
  d.zone = -1;
  d.sameNode = false;
  if (readyAny + fallbackAny === 0) {
    d.verdict = REJECT;
    return;
  }
  // The node's own endpoints matter only to a Local policy: its range among the port's endpoints ordered by node.
  const wantsLocal = kind === CLUSTER_IP ? (flags & ITP_LOCAL) !== 0 : (flags & ETP_LOCAL) !== 0 && (flags & EXTERNAL) !== 0;
  let lo = 0;
  let hi = 0;
  let readyLocal = 0;
  let fallbackLocal = 0;
  if (wantsLocal && node >= 0) {
    lo = firstOnNode(t, t.epStart(sp), t.epEnd(sp), node);
    hi = firstOnNode(t, lo, t.epEnd(sp), node + 1);
    for (let i = lo; i < hi; i++) {
      const f = t.epFlags[t.byNode[i]!]!;
      if (f & READY) readyLocal++;
      else if (f & SERVING && f & TERMINATING) fallbackLocal++;
    }
  }
  const hasLocal = readyLocal + fallbackLocal > 0;
  let chain: number;
  if (kind === CLUSTER_IP) {
    chain = flags & ITP_LOCAL ? LOCAL : CLUSTER;
    if (chain === LOCAL && !hasLocal) {
      d.verdict = DROP_NO_LOCAL;
      return;
    }
    if (t.config.masqueradeAll) d.masq = MASQ_ALL;
    else if (detector && !fromPod) d.masq = MASQ_OFF_CLUSTER;
  } else {
    if (kind === LOAD_BALANCER && flags & FIREWALL && !allowedSource(t, sp, node, s)) {
      d.verdict = DROP_SOURCE_RANGE;
      return;
    }
    if (!(flags & ETP_LOCAL) || !(flags & EXTERNAL)) {
      chain = CLUSTER;
      d.masq = MASQ_EXTERNAL;
    } else if (detector && fromPod) {
      chain = CLUSTER;
      d.route = SHORT_CIRCUIT_POD;
    } else if (fromNode) {
      chain = CLUSTER;
      d.route = SHORT_CIRCUIT_NODE;
      d.masq = MASQ_LOCAL_SOURCE;
    } else if (hasLocal) {
      chain = LOCAL;
    } else {
      d.verdict = DROP_NO_LOCAL;
      return;
    }
  }
  d.verdict = DNAT;
  d.chain = chain;
  if (chain === CLUSTER) {
    const first = facts[at + SP_CLUSTER]!;
    const end = facts[at + SP_CLUSTER_END]!;
    // Topology-aware routing narrows the cluster chain's ready endpoints to the node's own (PreferSameNode's node hints)
    // or else to its zone's (never the local chain's, nor the terminating fallback): then a list of its own, as the
    // local chain has.
    const filter = readyAny > 0 ? t.topologyFilter(sp, node) : -1;
    d.zone = filter >= 0 ? filter : -1;
    d.sameNode = filter === SAME_NODE;
    if (filter === -1) {
      d.list = t.clusterEps;
      d.first = first;
      d.count = end - first;
      return;
    }
    if (d.local.length < end - first) d.local = new Int32Array(2 * (end - first));
    d.list = d.local;
    d.first = 0;
    for (let i = first; i < end; i++) {
      const e = t.clusterEps[i]!;
      if (t.topologyKeeps(e, filter, node)) d.local[d.count++] = e;
    }
    return;
  }
  // byNode keeps the slices' order within a node: the local chain lists them as kube-proxy writes them.
  const useReady = readyLocal > 0;
  if (d.local.length < hi - lo) d.local = new Int32Array(2 * (hi - lo));
  d.list = d.local;
  d.first = 0;
  for (let i = lo; i < hi; i++) {
    const e = t.byNode[i]!;
    const f = t.epFlags[e]!;
    if (useReady ? f & READY : !(f & READY) && f & SERVING && f & TERMINATING) d.local[d.count++] = e;
  }
}

/** The first position in byNode[lo .. hi) whose endpoint is on a node numbered `node` or above. */
function firstOnNode(t: ServiceTable, lo: number, hi: number, node: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.epNode[t.byNode[mid]!]! < node) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The load-balancer firewall: a source in loadBalancerSourceRanges, or the load-balancer IP itself when a range holds
 * the node's IP (a node's request to a VIP it holds loops back with the VIP as its source).
 */
function allowedSource(t: ServiceTable, sp: number, node: number, s: Source): boolean {
  const start = t.spRangeStart[sp]!;
  const end = t.spRangeEnd[sp]!;
  if (t.ranges.any(start, end, s.family, s.w0, s.w1, s.w2, s.w3)) return true;
  const nodeIP = node >= 0 ? t.nodeIP(node, s.family) : undefined;
  if (nodeIP === undefined || !t.ranges.any(start, end, nodeIP.family, nodeIP.w0, nodeIP.w1, nodeIP.w2, nodeIP.w3)) return false;
  for (const lb of t.services[t.spService[sp]!]!.loadBalancerIPs) {
    if (lb.family === s.family && lb.w0 === s.w0 && lb.w1 === s.w1 && lb.w2 === s.w2 && lb.w3 === s.w3) return true;
  }
  return false;
}
