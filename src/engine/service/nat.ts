// kube-proxy in the walk: the DNAT of a packet that meets a Service's rules in a node's netns (PREROUTING for a packet
// that comes in, OUTPUT for one the node sends itself), and the masquerade of the marked packet when it leaves that
// node (KUBE-POSTROUTING). A walker owns one ServiceNat; it holds the packet's translated state for the walk, so that
// later rules (NetworkPolicy's) see the destination after DNAT and the source after SNAT.
import type { Addr, Family } from '../addr.js';
import type { Fabric } from '../fabric.js';
import { routeSource } from '../source.js';
import type { Recorder } from '../trace/record.js';
import type { Masquerade } from '../compile/masquerade.js';
import { Decision, decide, DNAT, DROP_SOURCE_RANGE, MASQ_HAIRPIN, NO_MASQ, REJECT } from './policy.js';
import { MAX_LISTED_ENDPOINTS } from './describe.js';
import { coarseBit, EP_WALK, EP_PORT, EP_OWNER, NODE_PORT, protocolCode, type ServiceTable } from './table.js';

/** prerouting(): no rule matched; the packet was translated. Any other answer is a drop code. */
export const NO_MATCH = -1;
export const TRANSLATED = -2;
/** flowSrcOwner before prerouting has needed it (Owners.first answers -1 or an entry). */
const UNKNOWN_OWNER = -2;

/** An `endpoint=` that is not among the endpoints kube-proxy may send the packet to. */
export class EndpointNotCandidate extends Error {
  constructor(
    message: string,
    readonly candidates: readonly string[],
  ) {
    super(message);
  }
}

/** The drop codes of kube-proxy's verdicts, given by the walker (they live with the other drop codes in record.ts). */
export interface NatCodes {
  readonly reject: number;
  readonly noLocal: number;
  readonly sourceRange: number;
}

export class ServiceNat {
  private readonly decision = new Decision();
  table: ServiceTable | undefined;
  /** The table's filters (use()). */
  private coarseBits = 0;
  private nodePortLow = 65536;
  private nodePortHigh = -1;
  private clusterIPsChecks = false;
  private proto = 0;
  /** Whether a rule may match the flow's packet at some node (start()). */
  private matchable = false;
  /** The nftables mode's cluster-ips-check of the flow's destination (clusterIPsCheck()), before any DNAT. */
  private dstCheck = -1;
  /** The flow's ports, as translated so far. */
  dstPort = 0;
  srcPort = 0;
  private flowSrcOwner = UNKNOWN_OWNER;
  /** What the last prerouting() met: the Service port, the frontend's kind and index, and the node. */
  private sp = -1;
  private kind = 0;
  private fe = -1;
  private node = -1;
  /** The endpoint to take among the candidates at the DNAT (the walker's branch), and an `endpoint=` pin. */
  pick = 0;
  pinned: Addr | undefined;
  /** How many endpoints the last walk's DNAT chose among (0: no DNAT). */
  width = 0;
  /** The walk's state: translated yet, where, the endpoint, the masquerade mark, and whether SNAT is done. */
  translated = false;
  at = -1;
  endpoint = -1;
  masq = NO_MASQ;
  snatted = false;
  /** The packet's addresses as NAT has left them so far. */
  src!: Addr;
  dst!: Addr;
  /** After a DNAT: the endpoint's address as words, and its first owner entry (Owners.first), for the walk. */
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  dstOwner = -1;

  /**
   * Prepares for the walks of one trace of a packet to `dst`; `srcOwner`: Owners.first of the source address, when the
   * caller knows it.
   */
  start(table: ServiceTable | undefined, protocol: string | undefined, dst: Addr, srcPort: number, dstPort: number, pinned: Addr | undefined, srcOwner = UNKNOWN_OWNER): void {
    if (table !== this.table) this.use(table);
    const proto = protocolCode(protocol);
    this.proto = proto;
    // Until a DNAT the packet's destination, protocol and port are the flow's at every node it crosses, and a rule of
    // kube-proxy's matches only a frontend's address, protocol and port, or a NodePort's protocol and port (at an
    // address of the node, which prerouting() asks): a flow that meets neither (pod to pod) can match no node's rules,
    // which are then not asked at every node on the way. The table is read only past the filters held here.
    this.matchable =
      proto !== 0 &&
      ((((this.coarseBits >>> coarseBit(dst.family, dst.w0, dst.w1)) & 1) !== 0 && this.table!.frontend(dst.family, dst.w0, dst.w1, dst.w2, dst.w3, proto, dstPort) >= 0) ||
        (dstPort >= this.nodePortLow && dstPort <= this.nodePortHigh && this.table!.nodePort(dst.family, proto, dstPort) >= 0));
    this.dstCheck = this.clusterIPsChecks ? this.table!.clusterIPsCheck(dst.family, dst.w0, dst.w1, dst.w2, dst.w3) : -1;
    // Otherwise looked up when a Service rule first matches: a trace that meets none (pod to pod) pays no lookup.
    this.flowSrcOwner = srcOwner;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    this.pinned = pinned;
    this.pick = 0;
  }

  /** Copies the table's filters that start() reads for every trace into this walker's own fields. */
  private use(table: ServiceTable | undefined): void {
    this.table = table;
    this.coarseBits = table === undefined ? 0 : table.coarseBits;
    this.nodePortLow = table === undefined ? 65536 : table.nodePortLow;
    this.nodePortHigh = table === undefined ? -1 : table.nodePortHigh;
    this.clusterIPsChecks = table !== undefined && table.hasClusterIPsCheck;
  }

  /** Resets the walk's state for another walk of the same trace. */
  reset(src: Addr, dst: Addr, dstPort: number): void {
    this.translated = false;
    this.snatted = false;
    this.at = -1;
    this.endpoint = -1;
    this.masq = NO_MASQ;
    this.width = 0;
    this.src = src;
    this.dst = dst;
    this.dstPort = dstPort;
  }

  /**
   * Whether kube-proxy's rules may act in netns `ns` now: a node's netns, the flow's packet one that a rule may match
   * (start()) and not yet translated. The fabric's flag is in the facts the route lookup reads next, where the table's
   * node of the netns would be a cache miss in every netns: prerouting() reads that only once a rule matches.
   */
  applies(fabric: Fabric, ns: number): boolean {
    return this.matchable && !this.translated && fabric.isNode(ns);
  }

  /**
   * The Service rules of the node `ns` for the flow's packet (at `dst`, owned by `dstOwner`), which came in by `inLink`
   * (-1: the node sends it). Records the DNAT step (and its drop, for a REJECT or DROP) and returns NO_MATCH, TRANSLATED or
   * the drop code.
   */
  prerouting(fabric: Fabric, record: Recorder, codes: NatCodes, ns: number, inLink: number, family: Family, d0: number, d1: number, d2: number, d3: number, dstOwner: number): number {
    const t = this.table!;
    const { owners } = fabric;
    let fe = t.frontend(family, d0, d1, d2, d3, this.proto, this.dstPort);
    let sp: number;
    let kind: number;
    if (fe >= 0) {
      sp = t.frontendSp(fe);
      kind = t.frontendKind(fe);
    } else {
      if (!this.nodePortAddress(fabric, ns, inLink, family, d0, d1, d2, d3, dstOwner)) return NO_MATCH;
      sp = t.nodePort(family, this.proto, this.dstPort);
      if (sp < 0) return NO_MATCH;
      kind = NODE_PORT;
      fe = -1;
    }
    // A node's netns that is no node of the cluster's (a fabric's own) has no kube-proxy.
    const node = t.nodeOfNetns[ns]!;
    if (node < 0) return NO_MATCH;
    const s = this.src;
    if (this.flowSrcOwner === UNKNOWN_OWNER) this.flowSrcOwner = owners.first(s);
    let fromNode = s.family === 4 && s.w0 >>> 24 === 127;
    for (let o = this.flowSrcOwner; o >= 0 && !fromNode; o = owners.next(o)) if (owners.netns(o) === ns) fromNode = true;
    const c = t.config;
    let detector: boolean;
    let fromPod: boolean;
    if (c.detectLocalMode === 'ClusterCIDR') {
      detector = false;
      fromPod = false;
      for (let i = 0; i < t.clusterCIDRs.length; i++) {
        if (t.clusterCIDRs.prefixes[i]!.family !== family) continue;
        detector = true;
        fromPod = t.clusterCIDRs.holds(i, family, s.w0, s.w1, s.w2, s.w3);
      }
    } else if (c.detectLocalMode === 'NodeCIDR') {
      detector = false;
      fromPod = false;
      for (let i = t.podCIDRStart[node]!; i < t.podCIDRStart[node + 1]!; i++) {
        if (t.podCIDRs.prefixes[i]!.family !== family) continue;
        detector = true;
        fromPod = t.podCIDRs.holds(i, family, s.w0, s.w1, s.w2, s.w3);
      }
    } else {
      detector = true;
      fromPod = inLink >= 0 && t.podInterface[inLink] === 1;
    }
    decide(t, this.decision, sp, kind, node, fromPod, fromNode, detector, s);
    this.sp = sp;
    this.kind = kind;
    this.fe = fe;
    this.node = node;
    return this.translate(record, codes, ns);
  }

  /**
   * The last prerouting() again, for the walk's other endpoint `pick`: another walk of the trace resumes where that one
   * met the rules, with the packet as it was then (reset()), and the decision still holds.
   */
  again(record: Recorder, codes: NatCodes, ns: number): number {
    return this.translate(record, codes, ns);
  }

  /** Takes the picked (or pinned) endpoint of the decision, records the DNAT step and translates the packet. */
  private translate(record: Recorder, codes: NatCodes, ns: number): number {
    const t = this.table!;
    const d = this.decision;
    const { sp, kind, fe, node } = this;
    const s = this.src;
    let chosen = -1;
    if (d.verdict === DNAT) {
      this.width = this.pinned === undefined ? d.count : 1;
      let k = this.pick;
      if (this.pinned !== undefined) {
        const p = this.pinned;
        k = -1;
        for (let i = 0; i < d.count && k < 0; i++) if (endpointIs(t, sp, d.candidate(i), p)) k = i;
        if (k < 0) {
          // A Service may have thousands of endpoints: the problem names the first few and counts the rest.
          const offered = Array.from({ length: Math.min(d.count, MAX_LISTED_ENDPOINTS) }, (_, i) => `${t.epAddr[d.candidate(i)]}`);
          const more = d.count > offered.length ? ` and ${d.count - offered.length} more` : '';
          throw new EndpointNotCandidate(`${p} is not among the endpoints kube-proxy may choose here (${offered.join(', ') || 'none'}${more})`, offered);
        }
      }
      chosen = d.candidate(k);
    }
    let masq = d.masq;
    if (chosen >= 0 && masq === NO_MASQ && endpointIs(t, sp, chosen, s)) masq = MASQ_HAIRPIN;
    record.dnat(sp, kind, fe, node, d.verdict, d.chain, d.route, masq, chosen, this.dstPort);
    if (d.verdict !== DNAT) {
      const code = d.verdict === REJECT ? codes.reject : d.verdict === DROP_SOURCE_RANGE ? codes.sourceRange : codes.noLocal;
      record.drop(code);
      record.put(sp);
      return code;
    }
    this.translated = true;
    this.at = ns;
    this.endpoint = chosen;
    this.masq = masq;
    this.dst = t.epAddr[chosen]!;
    const w = chosen * EP_WALK;
    const facts = t.epWalk;
    this.d0 = facts[w]! >>> 0;
    this.d1 = facts[w + 1]! >>> 0;
    this.d2 = facts[w + 2]! >>> 0;
    this.d3 = facts[w + 3]! >>> 0;
    this.dstPort = facts[w + EP_PORT]!;
    this.dstOwner = facts[w + EP_OWNER]!;
    return TRANSLATED;
  }

  /** The verdict of the last prerouting() (service/policy.ts) and the endpoints it chose among. */
  get verdict(): number {
    return this.decision.verdict;
  }

  candidates(): readonly number[] {
    const d = this.decision;
    return Array.from({ length: d.count }, (_, i) => d.candidate(i));
  }

  /** Whether a packet to `dst` meets the NodePort rules of the node: one of its addresses that nodePortAddresses allows. */
  private nodePortAddress(fabric: Fabric, ns: number, inLink: number, family: Family, d0: number, d1: number, d2: number, d3: number, dstOwner: number): boolean {
    const t = this.table!;
    const c = t.config;
    // 127.0.0.0/8 answers NodePorts only to the node itself, with localhostNodePorts, and when nodePortAddresses allow it.
    if (family === 4 && d0 >>> 24 === 127) {
      const allowed = c.nodePortAddresses === 'all' || t.nodePortPrefixes.any(0, t.nodePortPrefixes.length, family, d0, d1, d2, d3);
      return inLink < 0 && c.localhostNodePorts && allowed;
    }
    // IPv6 has no localhost NodePorts at all (kube-proxy excludes ::1 from them).
    if (family === 6 && d0 === 0 && d1 === 0 && d2 === 0 && d3 === 1) return false;
    let local = false;
    for (let o = dstOwner; o >= 0 && !local; o = fabric.owners.next(o)) if (fabric.owners.netns(o) === ns) local = true;
    if (!local) return false;
    if (c.nodePortAddresses === 'all' && !c.nodePortPrimary) return true;
    if (t.nodePortPrefixes.any(0, t.nodePortPrefixes.length, family, d0, d1, d2, d3)) return true;
    const node = t.nodeOfNetns[ns]!;
    const ip = c.nodePortPrimary && node >= 0 ? t.nodeIP(node, family) : undefined;
    return ip !== undefined && ip.w0 === d0 && ip.w1 === d1 && ip.w2 === d2 && ip.w3 === d3;
  }

  /**
   * The nftables mode's cluster-ips-check of the packet node `ns` forwards or sends, now at d0..d3: a Service port of
   * the ClusterIP it is still addressed to, which a rule rejects (a port no Service rule took), UNALLOCATED_CLUSTER_IP
   * (an address of the service CIDR no Service holds: dropped), or -1.
   */
  clusterIPsCheck(ns: number, family: Family, d0: number, d1: number, d2: number, d3: number): number {
    const t = this.table;
    if (t === undefined || !t.hasClusterIPsCheck) return -1;
    // Until a DNAT the destination is the flow's, answered once by start(): a packet to a pod asks no node's table.
    const check = this.translated ? t.clusterIPsCheck(family, d0, d1, d2, d3) : this.dstCheck;
    return check === -1 || t.nodeOfNetns[ns]! < 0 ? -1 : check;
  }

  /** KUBE-POSTROUTING: a marked packet leaving the node that translated it is masqueraded to its route's source. */
  wantsSnat(ns: number): boolean {
    return this.masq !== NO_MASQ && !this.snatted && ns === this.at;
  }

  postrouting(fabric: Fabric, record: Recorder, ns: number, out: number, group: number, choice: number): void {
    const route = fabric.fibs.route(group);
    const to = routeSource(fabric.netns[ns]!, route, choice, this.dst);
    this.snatted = true;
    if (to === undefined) return;
    this.src = to;
    record.snat(out, this.masq);
  }

  /**
   * The data path's egress masquerade (compile/masquerade.ts) of the packet leaving node netns `ns` by `out`, where
   * kube-proxy marked nothing: where a rule matches, the source becomes the route's (or the rule's --to-source) address.
   * A translation to the address the packet already has is no change, and records nothing.
   */
  egress(fabric: Fabric, masq: Masquerade, record: Recorder, ns: number, out: number, group: number, choice: number, family: Family, d0: number, d1: number, d2: number, d3: number, dstOwner: number): void {
    const rule = masq.match(ns, out, this.src, family, d0, d1, d2, d3, fabric.owners, dstOwner);
    if (rule < 0) return;
    this.snatted = true;
    const node = masq.node(ns);
    const to = masq.target(rule, node, family) ?? routeSource(fabric.netns[ns]!, fabric.fibs.route(group), choice, this.dst);
    if (to === undefined || to.equals(this.src)) return;
    this.src = to;
    record.snat(out, NO_MASQ, rule, node);
  }
}

/** Whether endpoint `e` of Service port `sp` has the address `a`, read from the walk's facts. */
function endpointIs(t: ServiceTable, sp: number, e: number, a: Addr): boolean {
  const w = e * EP_WALK;
  const facts = t.epWalk;
  return t.spFamily[sp] === a.family && facts[w]! >>> 0 === a.w0 && facts[w + 1]! >>> 0 === a.w1 && facts[w + 2]! >>> 0 === a.w2 && facts[w + 3]! >>> 0 === a.w3;
}
