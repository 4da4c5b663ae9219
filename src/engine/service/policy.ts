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
import { CLUSTER_IP, EXTERNAL, ETP_LOCAL, FIREWALL, ITP_LOCAL, LOAD_BALANCER, type ServiceTable } from './table.js';

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
  /** The endpoints of the chain (indices into the table's endpoint arrays); `count` of them are filled. */
  candidates = new Int32Array(64);
  count = 0;
}

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
  const flags = t.spFlags[sp]!;
  const start = t.spEpStart[sp]!;
  const end = t.spEpEnd[sp]!;
  let readyAny = 0;
  let fallbackAny = 0;
  let readyLocal = 0;
  let fallbackLocal = 0;
  for (let e = start; e < end; e++) {
    const f = t.epFlags[e]!;
    const local = node >= 0 && t.epNode[e] === node;
    if (f & READY) {
      readyAny++;
      if (local) readyLocal++;
    } else if (f & SERVING && f & TERMINATING) {
      fallbackAny++;
      if (local) fallbackLocal++;
    }
  }
  const hasAny = readyAny + fallbackAny > 0;
  const hasLocal = readyLocal + fallbackLocal > 0;
  d.masq = NO_MASQ;
  d.route = POLICY;
  d.count = 0;
  d.zone = -1;
  if (!hasAny) {
    d.verdict = REJECT;
    return;
  }
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
  const useReady = chain === CLUSTER ? readyAny > 0 : readyLocal > 0;
  // Topology-aware routing narrows the cluster chain's ready endpoints to the node's zone (never the local chain's,
  // nor the terminating fallback).
  const zone = chain === CLUSTER ? t.topologyZone(sp, node) : -1;
  d.zone = zone;
  if (d.candidates.length < end - start) d.candidates = new Int32Array(2 * (end - start));
  for (let e = start; e < end; e++) {
    if (chain === LOCAL && t.epNode[e] !== node) continue;
    if (zone >= 0 && !t.hintedFor(e, zone)) continue;
    const f = t.epFlags[e]!;
    if (useReady ? f & READY : !(f & READY) && f & SERVING && f & TERMINATING) d.candidates[d.count++] = e;
  }
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
