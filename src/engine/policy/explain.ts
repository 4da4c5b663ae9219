// Why a connection was denied: for each rule of the policies that isolate the pod, which of its parts the connection
// does not meet (the namespace's labels, the pod's labels, the ipBlock, the port), and the rule that misses by the
// fewest; for a denial by an admin rule (ANP or BANP Deny), the same of the Allow and Pass rules evaluated before it.
// Run when someone reads a denied trace, never during the walk: it speaks in strings.
import type { Addr } from '../addr.js';
import type { AdminPeerDoc, AdminPortDoc, PolicyPeerDoc, PolicyPortDoc } from '../../topology/schema.js';
import { lenientPrefix, PROTOCOL_NAMES, type PolicySet } from './policies.js';
import { selectorText, unmet } from './selector.js';
import { ALLOW, PASS, type AdminPeer } from './admin.js';

export interface ClosestRule {
  readonly policy: number;
  readonly rule: number;
  /** What the connection does not meet, one part each: the closest peer's (namespace, pod labels, ipBlock) and the port. */
  readonly unmet: readonly string[];
}

/** The connection a denial is explained for, at pod `subject` (PolicySet numbers; `peerPod` -1 for no pod). */
export interface Denied {
  readonly egress: boolean;
  readonly subject: number;
  readonly peerPod: number;
  readonly peerAddr: Addr;
  readonly protocol: number;
  readonly port: number;
}

/**
 * The rule of the pod's isolating policies that the connection misses by the fewest parts, the first of equals
 * (undefined: no rules at all). A peer misses by each of its parts that does not hold: its namespace and its labels.
 */
export function closestRule(set: PolicySet, { egress, subject, peerPod, peerAddr, protocol, port }: Denied): ClosestRule | undefined {
  let best: ClosestRule | undefined;
  for (const n of set.isolating(egress, subject)) {
    const policy = set.policies[n]!;
    const rules = (egress ? policy.doc.spec.egress : policy.doc.spec.ingress) ?? [];
    rules.forEach((rule, r) => {
      const peers = (egress ? (rule as { to?: PolicyPeerDoc[] }).to : (rule as { from?: PolicyPeerDoc[] }).from) ?? [];
      const missed: string[] = [];
      if (peers.length > 0) {
        const reasons = peers.map((p) => peerUnmet(set, p, policy.namespace, peerPod, peerAddr));
        if (reasons.every((x) => x !== undefined)) missed.push(...reasons.reduce((a, b) => (b.length < a.length ? b : a))!);
      }
      const ports = rule.ports ?? [];
      const dstPod = egress ? peerPod : subject;
      if (ports.length > 0 && set.matchPort(set.policies[n]![egress ? 'egress' : 'ingress']![r]!.ports, protocol, port, dstPod) < -1) {
        missed.push(portMissed(protocol, port, ports.map(portText)));
      }
      if (best === undefined || missed.length < best.unmet.length) best = { policy: n, rule: r, unmet: missed };
    });
  }
  return best;
}

const portMissed = (protocol: number, port: number, entries: string[]) =>
  `the port: ${PROTOCOL_NAMES[protocol]}${port > 0 ? `/${port}` : ''} is not one of ${entries.join(', ')}`;

/**
 * For a connection an admin rule denied (`policy` and `rule` of `tier`, admin.ts): the Allow or Pass rule evaluated
 * before it (the earlier policies of the tier that select the pod, by priority, and the earlier rules of its own) that
 * misses by the fewest parts, with the peer that came closest; undefined when no Allow or Pass rule comes before it.
 */
export function closestAdminRule(
  set: PolicySet,
  { egress, subject, peerPod, peerAddr, protocol, port }: Denied,
  tier: number,
  policy: number,
  rule: number,
): (ClosestRule & { readonly peer: number }) | undefined {
  const admin = set.admin!;
  let best: (ClosestRule & { readonly peer: number }) | undefined;
  for (const n of admin.selecting(tier, egress, subject)) {
    const compiled = admin.policies[n]!;
    const docs = (egress ? compiled.doc.spec.egress : compiled.doc.spec.ingress) ?? [];
    const rules = egress ? compiled.egress : compiled.ingress;
    for (let r = 0; r < rules.length && !(n === policy && r === rule); r++) {
      if (rules[r]!.action !== ALLOW && rules[r]!.action !== PASS) continue;
      const doc = docs[r]!;
      const peers = (egress ? doc.to : doc.from) ?? [];
      // The peer that misses by the fewest parts (none: one matches, and the port is what misses).
      let peer = 0;
      let missed: string[] | undefined;
      peers.forEach((p, i) => {
        const why = adminPeerUnmet(set, p, rules[r]!.peers[i]!, peerPod, peerAddr);
        if (missed === undefined || why.length < missed.length) [peer, missed] = [i, why];
      });
      const all = [...(missed ?? [])];
      const ports = doc.ports ?? [];
      if (ports.length > 0 && admin.matchPort(rules[r]!.ports, protocol, port, egress ? peerPod : subject) < -1) {
        all.push(portMissed(protocol, port, ports.map(adminPortText)));
      }
      if (best === undefined || all.length < best.unmet.length) best = { policy: n, rule: r, peer, unmet: all };
    }
    if (n === policy) break;
  }
  return best;
}

/** Why an admin peer does not match (empty when it does): a namespaces or pods peer as NetworkPolicy's, nodes, networks. */
function adminPeerUnmet(set: PolicySet, p: AdminPeerDoc, compiled: AdminPeer, pod: number, addr: Addr): string[] {
  if (pod < 0 && (p.namespaces !== undefined || p.pods !== undefined)) {
    return [`${p.namespaces !== undefined ? 'namespaces' : 'pods'}: ${addr} is not a pod's address (only a networks or nodes peer matches it)`];
  }
  if (p.namespaces !== undefined) return peerUnmet(set, { namespaceSelector: p.namespaces }, '', pod, addr) ?? [];
  if (p.pods !== undefined) return peerUnmet(set, { namespaceSelector: p.pods.namespaceSelector, podSelector: p.pods.podSelector }, '', pod, addr) ?? [];
  if (set.admin!.matchPeer([compiled], pod, addr) === 0) return [];
  if (p.nodes !== undefined) return [`nodes: ${addr} is not an address of a node matching ${selectorText(p.nodes)}`];
  if (p.networks !== undefined) return [`networks: ${addr} is not in ${p.networks.join(', ')}`];
  return [`${adminPeerText(p)}: it matches nothing`];
}

/** Why one peer does not match: each part it misses (an ipBlock, the namespace's labels, the pod's labels). */
function peerUnmet(set: PolicySet, peer: PolicyPeerDoc, own: string, pod: number, addr: Addr): string[] | undefined {
  if (peer.ipBlock !== undefined) {
    const cidr = lenientPrefix(peer.ipBlock.cidr);
    if (!cidr.contains(addr)) return [`ipBlock: ${addr} is not in ${cidr}`];
    const except = (peer.ipBlock.except ?? []).map(lenientPrefix).find((e) => e.contains(addr));
    return except === undefined ? undefined : [`ipBlock: ${addr} is in ${cidr} but also in its except ${except}`];
  }
  if (pod < 0) return [`pod selector: ${addr} is not a pod's address (only an ipBlock matches it)`];
  const p = set.pods[pod]!;
  const ns = set.namespaces[p.namespace]!;
  const missed: string[] = [];
  if (peer.namespaceSelector === undefined) {
    if (ns.name !== own) missed.push(`namespace: ${p.key} is not in the policy's namespace ${own} (the peer has no namespaceSelector)`);
  } else {
    const why = unmet(peer.namespaceSelector, ns.labels);
    if (why !== undefined) missed.push(`namespace labels: ${ns.name} does not match ${selectorText(peer.namespaceSelector)}: needs ${why}`);
  }
  if (peer.podSelector !== undefined) {
    const why = unmet(peer.podSelector, p.labels);
    if (why !== undefined) missed.push(`pod labels: ${p.key} does not match ${selectorText(peer.podSelector)}: needs ${why}`);
  }
  return missed.length === 0 ? undefined : missed;
}

export function portText(p: PolicyPortDoc): string {
  const protocol = p.protocol ?? 'TCP';
  if (p.port === undefined) return `${protocol} (any port)`;
  return p.endPort !== undefined ? `${protocol}/${p.port}-${p.endPort}` : `${protocol}/${p.port}`;
}

export function peerText(p: PolicyPeerDoc): string {
  if (p.ipBlock !== undefined) {
    const except = p.ipBlock.except ?? [];
    return `ipBlock ${p.ipBlock.cidr}${except.length > 0 ? ` except ${except.join(', ')}` : ''}`;
  }
  const parts: string[] = [];
  if (p.namespaceSelector !== undefined) parts.push(`namespaces ${selectorText(p.namespaceSelector)}`);
  if (p.podSelector !== undefined) parts.push(`pods ${selectorText(p.podSelector)}`);
  return parts.join(' and ');
}

/** An admin peer as a person reads it: `namespaces conformance-house=slytherin`, `pods app=db in namespaces {}`. */
export function adminPeerText(p: AdminPeerDoc): string {
  if (p.namespaces !== undefined) return `namespaces ${selectorText(p.namespaces)}`;
  if (p.pods !== undefined) return `pods ${selectorText(p.pods.podSelector)} in namespaces ${selectorText(p.pods.namespaceSelector)}`;
  if (p.nodes !== undefined) return `nodes ${selectorText(p.nodes)}`;
  if (p.networks !== undefined) return `networks ${p.networks.join(', ')}`;
  return `a peer of a kind not modelled (${Object.keys(p).join(', ')}), failing closed`;
}

export function adminPortText(p: AdminPortDoc): string {
  if (p.namedPort !== undefined) return `named port ${p.namedPort}`;
  if (p.portRange !== undefined) return `${p.portRange.protocol ?? 'TCP'}/${p.portRange.start}-${p.portRange.end}`;
  return `${p.portNumber?.protocol ?? 'TCP'}/${p.portNumber?.port ?? 0}`;
}
