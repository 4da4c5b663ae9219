// The DNAT and SNAT steps of a trace as objects (decode.ts builds them from the walk's integers when someone reads the
// hops): the Service port, how the packet met it, every endpoint kube-proxy knows for it with why it is or is not a
// candidate, the one this path took, and the masquerade.
import type { Addr, Family } from '../addr.js';
import type { Link, Netns } from '../fabric.js';
import type { EgressRuleRef } from '../compile/masquerade.js';
import { READY, SERVING, TERMINATING } from './endpoints.js';
import { CHAINS, CLUSTER, DROP_NO_LOCAL, MASQ_REASONS, ROUTES, VERDICTS, DNAT as VERDICT_DNAT, LOCAL } from './policy.js';
import { FRONTENDS, PROTOCOLS, SAME_NODE, type ServiceTable } from './table.js';

export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  /** The port's name ('' when the Service has one unnamed port). */
  readonly portName: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  readonly nodePort: number | undefined;
  readonly family: Family;
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  /** sessionAffinity ClientIP's timeout in seconds; undefined for None. */
  readonly affinitySeconds: number | undefined;
}

export type Eligibility =
  /** A candidate: ready (or serving and terminating when no endpoint in scope is ready). */
  | 'ready'
  | 'serving-terminating'
  /** Not a candidate. */
  | 'not-ready'
  | 'terminating-while-others-ready'
  | 'remote'
  /** Ready, but topology-aware routing keeps the node's cluster traffic in its zone, and this one is hinted for others. */
  | 'other-zone'
  /** Ready, but PreferSameNode keeps the node's cluster traffic on it, and this one is hinted for other nodes. */
  | 'other-node';

export interface ServiceEndpoint {
  readonly address: Addr;
  readonly port: number;
  readonly nodeName: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** On the node whose rules decide. */
  readonly local: boolean;
  readonly candidate: boolean;
  readonly why: Eligibility;
}

export type MasqReason = (typeof MASQ_REASONS)[number];

export interface DnatStep {
  readonly type: 'DNAT';
  readonly netns: Netns;
  /** kube-proxy's mode, or `cilium` where Cilium's kube-proxy replacement translates the cluster's Services instead. */
  readonly mode: 'iptables' | 'nftables' | 'ipvs' | 'cilium';
  readonly service: ServiceRef;
  readonly frontend: (typeof FRONTENDS)[number];
  /** The destination the rule matched (a ClusterIP, externalIP or load-balancer IP, or a node address's NodePort). */
  readonly matched: { readonly address: Addr; readonly port: number };
  readonly verdict: (typeof VERDICTS)[number];
  /** The policy chain the packet was sent to (undefined when rejected or dropped before one). */
  readonly chain: (typeof CHAINS)[number] | undefined;
  readonly route: (typeof ROUTES)[number];
  /** The masquerade mark the rules set (applied as the packet leaves the node: an SNAT step). */
  readonly masquerade: MasqReason;
  /** The endpoints listed: at most MAX_LISTED_ENDPOINTS, always the one this path takes (see counts for all of them). */
  readonly candidates: readonly ServiceEndpoint[];
  /** Every endpoint of the Service port, counted. */
  readonly counts: EndpointCounts;
  /** The node's zone, where topology-aware routing narrowed the cluster chain to the endpoints hinted for it. */
  readonly zone: string | undefined;
  /** PreferSameNode narrowed the cluster chain to the endpoints hinted for this node. */
  readonly sameNode: boolean;
  /** The index in `candidates` of the endpoint this path takes, and where the packet now goes. */
  readonly endpoint: number | undefined;
  readonly to: { readonly address: Addr; readonly port: number } | undefined;
}

export interface SnatStep {
  readonly type: 'SNAT';
  readonly link: Link;
  readonly from: Addr;
  readonly to: Addr;
  /** kube-proxy's reason for the mark, or `egress`: the data path's masquerade of a pod's packet leaving for outside. */
  readonly reason: MasqReason | 'egress';
  /** For `egress`: the agent's rule that matched. */
  readonly egress?: EgressRuleRef;
}

export function serviceRef(t: ServiceTable, sp: number): ServiceRef {
  const svc = t.services[t.spService[sp]!]!;
  const flags = t.spFlags(sp);
  return {
    namespace: svc.namespace,
    name: svc.name,
    portName: t.spPortName[sp]!,
    protocol: PROTOCOLS[t.spProto[sp]!] as 'TCP' | 'UDP' | 'SCTP',
    port: t.spPort[sp]!,
    nodePort: t.spNodePort[sp]! > 0 ? t.spNodePort[sp]! : undefined,
    family: t.spFamily[sp] as Family,
    internalTrafficPolicy: flags & 1 ? 'Local' : 'Cluster',
    externalTrafficPolicy: flags & 2 ? 'Local' : 'Cluster',
    affinitySeconds: svc.affinitySeconds > 0 ? svc.affinitySeconds : undefined,
  };
}

/**
 * How many endpoints a DNAT step lists. A Service may have thousands; every one is counted (by why it is or is not a
 * candidate), and the list holds the one the path takes, the first of each kind, then the rest in order, up to this.
 */
export const MAX_LISTED_ENDPOINTS = 32;

const ELIGIBILITY: readonly Eligibility[] = ['ready', 'serving-terminating', 'not-ready', 'terminating-while-others-ready', 'remote', 'other-zone', 'other-node'];
const OTHER_ZONE = 5;
const OTHER_NODE = 6;

/** The endpoints of a DNAT step counted: all of them, the candidates, how many of each kind, and how many the list leaves out. */
export interface EndpointCounts {
  readonly total: number;
  readonly candidates: number;
  readonly byEligibility: Readonly<Partial<Record<Eligibility, number>>>;
  readonly omitted: number;
}

interface Judged {
  /** Each endpoint's index in ELIGIBILITY, from the Service port's first. */
  readonly whys: Uint8Array;
  readonly counts: readonly number[];
  /** The first endpoint of each kind, in order. */
  readonly firsts: readonly number[];
  /** What narrowed the cluster chain: PreferSameNode's node hints, or else the zone's (-1: none). */
  readonly sameNode: boolean;
  readonly zone: number;
}

/**
 * Why each endpoint of a Service port is or is not a candidate for a verdict in a node. Every path of a split flow
 * decodes the same DNAT: the endpoints are judged once per table, not once per path (10,000 endpoints × 64 paths).
 */
const judged = new WeakMap<ServiceTable, Map<string, Judged>>();

function eligibility(t: ServiceTable, sp: number, node: number, verdict: number, chain: number): Judged {
  let cache = judged.get(t);
  if (cache === undefined) judged.set(t, (cache = new Map()));
  const key = `${sp} ${node} ${verdict} ${chain}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const start = t.epStart(sp);
  const end = t.epEnd(sp);
  const dnat = verdict === VERDICT_DNAT;
  const localOnly = (dnat && chain === LOCAL) || verdict === DROP_NO_LOCAL;
  const inScope = (e: number) => !dnat || chain === CLUSTER || t.epNode[e] === node;
  let anyReady = false;
  for (let e = start; e < end && !anyReady; e++) if (inScope(e) && t.epFlags[e]! & READY) anyReady = true;
  const whys = new Uint8Array(end - start);
  const counts = [0, 0, 0, 0, 0, 0, 0];
  const firsts: number[] = [];
  const filter = dnat && chain === CLUSTER ? t.topologyFilter(sp, node) : -1;
  const sameNode = filter === SAME_NODE;
  const zone = filter >= 0 ? filter : -1;
  for (let e = start; e < end; e++) {
    const f = t.epFlags[e]!;
    const ready = t.topologyKeeps(e, filter, node) ? 0 : sameNode ? OTHER_NODE : OTHER_ZONE;
    const w = localOnly && !(node >= 0 && t.epNode[e] === node) ? 4 : f & READY ? ready : f & SERVING && f & TERMINATING ? (anyReady ? 3 : 1) : 2;
    whys[e - start] = w;
    if (counts[w]++ === 0) firsts.push(e);
  }
  // A bound on what a long-lived table keeps: the (Service port, node) pairs traced are few next to it.
  if (cache.size >= 4096) cache.clear();
  const out = { whys, counts, firsts, sameNode, zone };
  cache.set(key, out);
  return out;
}

/** The operands of a DNAT entry (record.ts), in order. */
export function dnatStep(t: ServiceTable, netns: Netns, matched: Addr, r: readonly number[], i: number): DnatStep {
  const [sp, kind, , node, verdict, chain, route, masq, chosen, port] = r.slice(i, i + 10) as number[] as [
    number, number, number, number, number, number, number, number, number, number,
  ];
  const start = t.epStart(sp);
  const end = t.epEnd(sp);
  const dnat = verdict === VERDICT_DNAT;
  const { whys, counts, firsts, sameNode, zone } = eligibility(t, sp, node, verdict, chain);
  const listed = new Set<number>();
  if (chosen >= 0) listed.add(chosen);
  for (const e of firsts) if (listed.size < MAX_LISTED_ENDPOINTS) listed.add(e);
  for (let e = start; e < end && listed.size < MAX_LISTED_ENDPOINTS; e++) listed.add(e);
  const candidates: ServiceEndpoint[] = [];
  let endpoint: number | undefined;
  for (const e of [...listed].sort((a, b) => a - b)) {
    const f = t.epFlags[e]!;
    const why = ELIGIBILITY[whys[e - start]!]!;
    const candidate = dnat && (why === 'ready' || why === 'serving-terminating');
    if (e === chosen) endpoint = candidates.length;
    candidates.push({
      address: t.epAddr[e]!,
      port: t.epPort[e]!,
      nodeName: t.epNodeName[e],
      ready: (f & READY) !== 0,
      serving: (f & SERVING) !== 0,
      terminating: (f & TERMINATING) !== 0,
      local: node >= 0 && t.epNode[e] === node,
      candidate,
      why,
    });
  }
  const byEligibility: Partial<Record<Eligibility, number>> = {};
  ELIGIBILITY.forEach((w, k) => {
    if (counts[k]! > 0) byEligibility[w] = counts[k]!;
  });
  return {
    type: 'DNAT',
    netns,
    mode: t.replacedBy ?? t.config.mode,
    service: serviceRef(t, sp),
    frontend: FRONTENDS[kind]!,
    matched: { address: matched, port },
    verdict: VERDICTS[verdict]!,
    chain: dnat ? CHAINS[chain] : undefined,
    route: ROUTES[route]!,
    masquerade: MASQ_REASONS[masq]!,
    candidates,
    counts: { total: end - start, candidates: dnat ? counts[0]! + counts[1]! : 0, byEligibility, omitted: end - start - candidates.length },
    zone: zone >= 0 ? t.zoneNames[zone] : undefined,
    sameNode,
    endpoint,
    to: chosen >= 0 ? { address: t.epAddr[chosen]!, port: t.epPort[chosen]! } : undefined,
  };
}
