// The DNAT and SNAT steps of a trace as objects (decode.ts builds them from the walk's integers when someone reads the
// hops): the Service port, how the packet met it, every endpoint kube-proxy knows for it with why it is or is not a
// candidate, the one this path took, and the masquerade.
import type { Addr, Family } from '../addr.js';
import type { Link, Netns } from '../fabric.js';
import { READY, SERVING, TERMINATING } from './endpoints.js';
import { CHAINS, CLUSTER, DROP_NO_LOCAL, MASQ_REASONS, ROUTES, VERDICTS, DNAT as VERDICT_DNAT, LOCAL } from './policy.js';
import { FRONTENDS, PROTOCOLS, type ServiceTable } from './table.js';

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
}

export type Eligibility =
  /** A candidate: ready (or serving and terminating when no endpoint in scope is ready). */
  | 'ready'
  | 'serving-terminating'
  /** Not a candidate. */
  | 'not-ready'
  | 'terminating-while-others-ready'
  | 'remote';

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
  readonly mode: 'iptables' | 'nftables' | 'ipvs';
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
  readonly candidates: readonly ServiceEndpoint[];
  /** The index in `candidates` of the endpoint this path takes, and where the packet now goes. */
  readonly endpoint: number | undefined;
  readonly to: { readonly address: Addr; readonly port: number } | undefined;
}

export interface SnatStep {
  readonly type: 'SNAT';
  readonly link: Link;
  readonly from: Addr;
  readonly to: Addr;
  readonly reason: MasqReason;
}

export function serviceRef(t: ServiceTable, sp: number): ServiceRef {
  const svc = t.services[t.spService[sp]!]!;
  const flags = t.spFlags[sp]!;
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
  };
}

/** The operands of a DNAT entry (record.ts), in order. */
export function dnatStep(t: ServiceTable, netns: Netns, matched: Addr, r: readonly number[], i: number): DnatStep {
  const [sp, kind, , node, verdict, chain, route, masq, chosen, port] = r.slice(i, i + 10) as number[] as [
    number, number, number, number, number, number, number, number, number, number,
  ];
  const start = t.spEpStart[sp]!;
  const end = t.spEpEnd[sp]!;
  const dnat = verdict === VERDICT_DNAT;
  const inScope = (e: number) => !dnat || chain === CLUSTER || t.epNode[e] === node;
  let anyReady = false;
  for (let e = start; e < end; e++) if (inScope(e) && t.epFlags[e]! & READY) anyReady = true;
  const candidates: ServiceEndpoint[] = [];
  let endpoint: number | undefined;
  for (let e = start; e < end; e++) {
    const f = t.epFlags[e]!;
    const ready = (f & READY) !== 0;
    const serving = (f & SERVING) !== 0;
    const terminating = (f & TERMINATING) !== 0;
    const local = node >= 0 && t.epNode[e] === node;
    let why: Eligibility;
    if (((dnat && chain === LOCAL) || verdict === DROP_NO_LOCAL) && !local) why = 'remote';
    else if (ready) why = 'ready';
    else if (serving && terminating) why = anyReady ? 'terminating-while-others-ready' : 'serving-terminating';
    else why = 'not-ready';
    const candidate = dnat && (why === 'ready' || why === 'serving-terminating');
    if (e === chosen) endpoint = candidates.length;
    candidates.push({ address: t.epAddr[e]!, port: t.epPort[e]!, nodeName: t.epNodeName[e], ready, serving, terminating, local, candidate, why });
  }
  return {
    type: 'DNAT',
    netns,
    mode: t.config.mode,
    service: serviceRef(t, sp),
    frontend: FRONTENDS[kind]!,
    matched: { address: matched, port },
    verdict: VERDICTS[verdict]!,
    chain: dnat ? CHAINS[chain] : undefined,
    route: ROUTES[route]!,
    masquerade: MASQ_REASONS[masq]!,
    candidates,
    endpoint,
    to: chosen >= 0 ? { address: t.epAddr[chosen]!, port: t.epPort[chosen]! } : undefined,
  };
}
