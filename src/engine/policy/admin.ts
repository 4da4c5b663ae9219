// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, KEP-2091) compiled for the walk,
// beside the NetworkPolicies of policies.ts and on its pod and namespace numbers. Per pod and direction: the ANPs that
// select it, in the order they are evaluated (priority, lower first; equal priorities, which the API leaves undefined,
// by name), and the BANP if it selects it. Per rule, each peer's pods (a sorted list) or namespaces (a flag each), or
// addresses (networks, the addresses of the nodes selected). A verdict reads integers and prefixes only.
//
// The tiers (check.ts): the pod's ANPs, rule by rule — Allow and Deny are final, Pass skips the remaining ANPs and hands
// the connection to NetworkPolicy; then NetworkPolicy; then, only when no NetworkPolicy isolates the pod for the
// direction, the BANP; then the default, allow.
import type { Addr } from '../addr.js';
import { Addr as AddrValue } from '../addr.js';
import { Prefix } from '../prefix.js';
import type {
  AdminPeerDoc,
  AdminPortDoc,
  AdminSubjectDoc,
  ClusterDoc,
  LabelSelectorDoc,
} from '../../topology/schema.js';
import { csr, lenientPrefix, protocolNumber, search, type CompiledPeer, type PolicySet, type Verdict } from './policies.js';
import { matches } from './selector.js';

/** The tiers a decision comes from; NETWORK_POLICY is NetworkPolicy's own (policies.ts). */
export const NETWORK_POLICY = 0;
export const ADMIN = 1;
export const BASELINE = 2;

/** Rule actions, and what a tier says when none of its rules matches. */
export const ALLOW = 0;
export const DENY = 1;
export const PASS = 2;
export const NO_MATCH = -1;
export const ACTION_NAMES = ['Allow', 'Deny', 'Pass'] as const;
export const KIND_NAMES = ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'] as const;

const NAMESPACES = 0;
const PODS = 1;
const ADDRESSES = 2;
/** A peer of a kind this model does not know (a newer API's, such as domainNames): every address, or none. */
const ANY = 3;
const NONE = 4;

/**
 * A peer, as NetworkPolicy's (policies.ts): the pods it matches (PODS, sorted) or the namespaces (NAMESPACES, a flag
 * each); or, ADDRESSES, the networks, or the addresses of the nodes selected as host prefixes.
 */
export type AdminPeer = Pick<CompiledPeer, 'kind' | 'pods' | 'namespaces'> & { readonly prefixes: readonly Prefix[] };

/**
 * A port entry: a protocol and a range start-end (one port: start = end); or a named port, `name` its number in
 * PolicySet.portNames (-2 for a name no pod has; -1 for a number or range) and `protocol` -1, since the destination
 * pod's container port gives the protocol.
 */
export type AdminPort = { readonly protocol: number; readonly start: number; readonly end: number; readonly name: number };

/** A rule: its action, its peers (an admin rule has at least one) and its ports (empty: every port and protocol). */
export type AdminRule = { readonly action: number; readonly peers: readonly AdminPeer[]; readonly ports: readonly AdminPort[] };

export interface AdminPolicy {
  readonly ingress: readonly AdminRule[];
  readonly egress: readonly AdminRule[];
  /** ADMIN or BASELINE; the name; the ANP's priority (-1 for the BANP); the document, for the rules' names and texts. */
  readonly tier: number;
  readonly name: string;
  readonly priority: number;
  readonly doc: { readonly spec: { readonly ingress?: readonly RuleDoc[]; readonly egress?: readonly RuleDoc[] } };
}

export interface RuleDoc {
  readonly name?: string;
  readonly action: string;
  readonly from?: readonly AdminPeerDoc[];
  readonly to?: readonly AdminPeerDoc[];
  readonly ports?: readonly AdminPortDoc[];
}

export class AdminPolicies {
  /** The ANPs in evaluation order (priority, then name), then the BANP. */
  readonly policies: AdminPolicy[] = [];
  /** Per tier (ADMIN, BASELINE) and direction (0 ingress, 1 egress): CSR lists of policy numbers per pod. */
  private readonly start: Int32Array[] = [];
  private readonly of: Int32Array[] = [];

  constructor(
    private readonly set: PolicySet,
    cluster: ClusterDoc,
    nodeName: (name: string) => readonly Addr[],
  ) {
    const podsOfNs: number[][] = [];
    set.pods.forEach((p, i) => (podsOfNs[p.namespace] ??= []).push(i));
    const selectNamespaces = (selector: LabelSelectorDoc) => Uint8Array.from(set.namespaces, (ns) => (matches(selector, ns.labels) ? 1 : 0));
    const selectPods = (nsSelector: LabelSelectorDoc, podSelector: LabelSelectorDoc) => {
      const out: number[] = [];
      selectNamespaces(nsSelector).forEach((chosen, ns) => {
        if (chosen) for (const p of podsOfNs[ns] ?? []) if (matches(podSelector, set.pods[p]!.labels)) out.push(p);
      });
      return Int32Array.from(out).sort();
    };
    const subjectPods = (s: AdminSubjectDoc): Int32Array =>
      s.pods !== undefined ? selectPods(s.pods.namespaceSelector, s.pods.podSelector) : selectPods(s.namespaces ?? {}, {});
    const NONE_PODS = new Int32Array(0);
    const NONE_NS = new Uint8Array(0);
    const peer = (doc: AdminPeerDoc): AdminPeer => {
      if (doc.namespaces !== undefined) return { kind: NAMESPACES, pods: NONE_PODS, namespaces: selectNamespaces(doc.namespaces), prefixes: [] };
      if (doc.pods !== undefined) return { kind: PODS, pods: selectPods(doc.pods.namespaceSelector, doc.pods.podSelector), namespaces: NONE_NS, prefixes: [] };
      if (doc.networks !== undefined) return { kind: ADDRESSES, pods: NONE_PODS, namespaces: NONE_NS, prefixes: doc.networks.map(lenientPrefix) };
      if (doc.nodes === undefined) return { kind: ANY, pods: NONE_PODS, namespaces: NONE_NS, prefixes: [] };
      // The nodes selected by their labels, as the addresses of their status (what the API says a nodes peer matches).
      const nodes = (cluster.nodes ?? []).filter((n) => matches(doc.nodes!, n.labels ?? {}));
      return { kind: ADDRESSES, pods: NONE_PODS, namespaces: NONE_NS, prefixes: nodes.flatMap((n) => nodeName(n.name)).map((a) => Prefix.of(a, a.family === 4 ? 32 : 128)) };
    };
    const port = (doc: AdminPortDoc): AdminPort => {
      if (doc.namedPort !== undefined) {
        const i = set.portNames.indexOf(doc.namedPort);
        return { protocol: -1, start: 0, end: 0, name: i < 0 ? -2 : i };
      }
      if (doc.portRange !== undefined) return { protocol: protocolNumber(doc.portRange.protocol ?? 'TCP'), start: doc.portRange.start, end: doc.portRange.end, name: -1 };
      const n = doc.portNumber?.port ?? 0;
      return { protocol: protocolNumber(doc.portNumber?.protocol ?? 'TCP'), start: n, end: n, name: -1 };
    };
    const ACTIONS: Record<string, number> = { Allow: ALLOW, Deny: DENY, Pass: PASS };
    // A peer of an unknown kind fails closed, as the API asks: an Allow rule does not match through it, a Deny or Pass
    // rule becomes a Deny of everything.
    const rule = (r: RuleDoc): AdminRule => {
      const peers = (r.from ?? r.to ?? []).map(peer);
      const action = ACTIONS[r.action]!;
      if (!peers.some((p) => p.kind === ANY)) return { action, peers, ports: (r.ports ?? []).map(port) };
      if (action !== ALLOW) return { action: DENY, peers, ports: [] };
      return { action, peers: peers.map((p) => (p.kind === ANY ? { ...p, kind: NONE } : p)), ports: (r.ports ?? []).map(port) };
    };
    const rules = (list: readonly RuleDoc[] | undefined) => (list ?? []).map(rule);

    const admins = [...(cluster.adminNetworkPolicies ?? [])].sort(
      (a, b) => a.spec.priority - b.spec.priority || (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0),
    );
    const lists: number[][][] = [[], [], [], []];
    const add = (tier: number, doc: AdminPolicy['doc'] & { spec: { subject: AdminSubjectDoc } }, name: string, priority: number) => {
      const n = this.policies.length;
      const policy: AdminPolicy = { tier, name, priority, doc, ingress: rules(doc.spec.ingress), egress: rules(doc.spec.egress) };
      this.policies.push(policy);
      // A policy without rules for a direction does not affect it (the API's words), so it is not listed for it.
      for (const p of subjectPods(doc.spec.subject)) {
        if (policy.ingress.length > 0) (lists[(tier - 1) * 2]![p] ??= []).push(n);
        if (policy.egress.length > 0) (lists[(tier - 1) * 2 + 1]![p] ??= []).push(n);
      }
    };
    for (const anp of admins) add(ADMIN, anp, anp.metadata.name, anp.spec.priority);
    for (const banp of cluster.baselineAdminNetworkPolicies ?? []) add(BASELINE, banp, banp.metadata.name, -1);
    for (const list of lists) {
      const [start, of] = csr(list, set.pods.length);
      this.start.push(start);
      this.of.push(of);
    }
  }

  /** The policies of a tier that select the pod for a direction, in evaluation order. */
  selecting(tier: number, egress: boolean, pod: number): Int32Array {
    const k = (tier - 1) * 2 + (egress ? 1 : 0);
    return this.of[k]!.subarray(this.start[k]![pod]!, this.start[k]![pod + 1]!);
  }

  /**
   * The first rule of the tier's policies selecting `subject` that matches the connection: its action (v holds the
   * policy, rule, peer and port entry), or NO_MATCH. `peerPod` is a PolicySet pod number or -1.
   */
  evaluate(v: Verdict, tier: number, egress: boolean, subject: number, peerPod: number, peerAddr: Addr, protocol: number, port: number): number {
    const k = (tier - 1) * 2 + (egress ? 1 : 0);
    const of = this.of[k]!;
    const dstPod = egress ? peerPod : subject;
    for (let i = this.start[k]![subject]!, to = this.start[k]![subject + 1]!; i < to; i++) {
      const policy = this.policies[of[i]!]!;
      const rules = egress ? policy.egress : policy.ingress;
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r]!;
        const pe = this.matchPeer(rule.peers, peerPod, peerAddr);
        if (pe < 0) continue;
        const po = this.matchPort(rule.ports, protocol, port, dstPod);
        if (po < -1) continue;
        v.found(of[i]!, r, pe, po);
        return rule.action;
      }
    }
    return NO_MATCH;
  }

  /** The first peer that matches, or -1 (an admin rule always has peers). */
  matchPeer(peers: readonly AdminPeer[], pod: number, addr: Addr): number {
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]!;
      if (p.kind === ADDRESSES) {
        for (let j = 0; j < p.prefixes.length; j++) if (p.prefixes[j]!.contains(addr)) return i;
      } else if (p.kind === ANY) {
        return i;
      } else if (p.kind !== NONE && pod >= 0) {
        if (p.kind === NAMESPACES ? p.namespaces[this.set.pods[pod]!.namespace] === 1 : search(p.pods, pod)) return i;
      }
    }
    return -1;
  }

  /** The first port entry that admits the protocol and port (-1 when the rule has none: every port), or -2. */
  matchPort(ports: readonly AdminPort[], protocol: number, port: number, dstPod: number): number {
    if (ports.length === 0) return -1;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p.name >= 0) {
        if (port > 0 && this.set.namedPort(dstPod, p.name, protocol) === port) return i;
      } else if (p.name === -1 && p.protocol === protocol && port >= p.start && port <= p.end) return i;
    }
    return -2;
  }

  /**
   * What the admin tiers can tell about a source pod, for the reachability matrix's classes (policies.ts sourceKey):
   * the policies that select its egress, and every ingress peer of every policy that matches it.
   */
  sourceKey(pod: number, addr: Addr): string {
    const own = [...this.selecting(ADMIN, true, pod), -1, ...this.selecting(BASELINE, true, pod)].join(',');
    const matched: string[] = [];
    this.policies.forEach((policy, n) =>
      policy.ingress.forEach((rule, r) => rule.peers.forEach((peer, p) => this.matchPeer([peer], pod, addr) === 0 && matched.push(`${n}.${r}.${p}`))),
    );
    return `${own}|${matched.join(',')}`;
  }
}

/** The addresses a node's status lists (InternalIP, ExternalIP), which a nodes peer matches. */
export function nodeAddresses(cluster: ClusterDoc): (name: string) => readonly Addr[] {
  const byName = new Map(
    (cluster.nodes ?? []).map((n) => [
      n.name,
      n.addresses.filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').flatMap((a) => AddrValue.tryParse(a.address) ?? []),
    ]),
  );
  return (name) => byName.get(name) ?? [];
}
