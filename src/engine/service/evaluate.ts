// kube-proxy's rules of one node for one packet, outside a walk: what kube-proxy's own packet-flow tests ask of its
// rules (pkg/proxy/{iptables,nftables}/proxier_test.go, runPacketFlowTests), answered by the same table, policy and NAT code the
// walk uses. The answer names every endpoint the packet may be DNATed to, REJECT or DROP, ACCEPT for kube-proxy's
// health check port, or nothing when no rule matches; and whether any of those ways marks it for masquerade.
import type { Addr } from '../addr.js';
import type { Fabric } from '../fabric.js';
import { Recorder } from '../trace/record.js';
import { NO_MATCH, ServiceNat } from './nat.js';
import { DNAT, MASQ_HAIRPIN, NO_MASQ, REJECT } from './policy.js';
import { UNALLOCATED_CLUSTER_IP, type ServiceTable } from './table.js';

export interface RuleOutcome {
  /** "10.180.0.1:80, 10.180.2.1:80", "REJECT", "DROP", "ACCEPT", or "" when no rule matches. */
  readonly output: string;
  readonly masq: boolean;
}

const CODES = { reject: 1, noLocal: 2, sourceRange: 3 };

export function nodeRules(fabric: Fabric, table: ServiceTable, node: string, src: Addr, protocol: 'tcp' | 'udp' | 'sctp', dst: Addr, port: number): RuleOutcome {
  const ns = fabric.byName.get(node);
  if (ns === undefined) throw new Error(`there is no node named ${node}`);
  const nat = new ServiceNat();
  nat.start(table, protocol, dst, 0, port, undefined);
  nat.reset(src, dst, port);
  // A packet the node sends itself (its own source, or loopback) meets OUTPUT; any other comes in by its first link.
  let own = src.family === 4 && src.w0 >>> 24 === 127;
  for (let o = fabric.owners.first(src); o >= 0 && !own; o = fabric.owners.next(o)) if (fabric.owners.netns(o) === ns.id) own = true;
  const inLink = own ? -1 : ns.links[0]!.id;
  // Asked as the walk asks: only a packet that start() found some rule may match meets the rules.
  const verdict = nat.applies(fabric, ns.id) ? nat.prerouting(fabric, new Recorder(), CODES, ns.id, inLink, dst.family, dst.w0, dst.w1, dst.w2, dst.w3, fabric.owners.first(dst)) : NO_MATCH;
  if (verdict === NO_MATCH) {
    // The nftables mode's cluster-ips-check, which the walk meets after routing (FORWARD, or OUTPUT after the DNAT).
    const sp = nat.clusterIPsCheck(ns.id, dst.family, dst.w0, dst.w1, dst.w2, dst.w3);
    if (sp >= 0) return { output: 'REJECT', masq: false };
    if (sp === UNALLOCATED_CLUSTER_IP) return { output: 'DROP', masq: false };
    const health = protocol === 'tcp' && table.healthCheckNodePorts.has(port);
    return { output: health ? 'ACCEPT' : '', masq: false };
  }
  if (nat.verdict !== DNAT) return { output: nat.verdict === REJECT ? 'REJECT' : 'DROP', masq: false };
  const endpoints = nat.candidates();
  const hostPort = (e: number) => {
    const a = table.epAddr[e]!;
    return a.family === 6 ? `[${a}]:${table.epPort[e]}` : `${a}:${table.epPort[e]}`;
  };
  // kube-proxy's tracer follows every endpoint at once: the packet is marked if any way marks it (a hairpin included).
  const marked = (nat.masq !== NO_MASQ && nat.masq !== MASQ_HAIRPIN) || endpoints.some((e) => table.epAddr[e]!.equals(src));
  return { output: endpoints.map(hostPort).join(', '), masq: marked };
}
