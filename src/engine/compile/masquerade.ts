// The egress masquerade of a cluster's data path: the rules each CNI plugin (and ip-masq-agent) writes into the nat
// table's POSTROUTING of every node, so that a pod's packet leaving for an address outside the pod network leaves with
// its node's address. Read from the plugins' own code (test/fixtures/masquerade/README.md names each file and commit):
//   flannel --ip-masq (FLANNEL-POSTRTG, pkg/trafficmngr/iptables): `-s <node subnet> -d <network> RETURN`,
//     `-s <network> -d <node subnet> RETURN`, `! -s <network> -d <node subnet> RETURN`, `-s <network> ! -d 224.0.0.0/4
//     MASQUERADE` (ff00::/8 for IPv6), `! -s <network> -d <network> MASQUERADE`.
//   Calico (felix's masq_mgr, cali-nat-outgoing): `--match-set cali40masq-ipam-pools src ! --match-set
//     cali40all-ipam-pools dst MASQUERADE`: from a natOutgoing pool to outside every pool, disabled ones included.
//   Cilium, iptables masquerading (installMasqueradeRules, CILIUM_POST_nat): with native routing first `-s <node pod
//     CIDR> --match-set cilium_node_set dst ACCEPT` (traffic to the nodes is left alone); then `! -d <native routing
//     CIDR, else the node's pod CIDR> -s <node pod CIDR> ! -o cilium_+ MASQUERADE`.
//   kindnet (KIND-MASQ-AGENT, reached for `! --dst-type LOCAL`): `-d <POD_SUBNET> RETURN`, then MASQUERADE.
//   ip-masq-agent (IP-MASQ-AGENT): `-d 169.254.0.0/16 RETURN` unless masqLinkLocal, `-d <nonMasqueradeCIDR> RETURN`
//     each, then MASQUERADE; IPv6 only with --enable-ipv6.
//   AWS VPC CNI unless AWS_VPC_K8S_CNI_EXTERNALSNAT (AWS-SNAT-CHAIN-*): `! -d <VPC CIDR>` and `! -d <excluded CIDR>`
//     down the chain, then `SNAT --to-source <primary IP>`, whatever the source.
// kube-proxy's KUBE-POSTROUTING comes first in POSTROUTING and its MASQUERADE of a marked packet is final (flannel even
// returns early for the mark), so these rules see only packets kube-proxy left alone. The walk asks match() as the
// flow's packet leaves a node; match() reads words and typed arrays only.
import { Addr, type Family } from '../addr.js';
import type { Fabric } from '../fabric.js';
import type { Owners } from '../owners.js';
import { Prefix } from '../prefix.js';
import { PrefixList } from '../service/prefixes.js';
import type { ClusterDoc } from '../../topology/schema.js';
import { nodeAddr } from './underlay.js';
import { podAddrs } from './bridge.js';

export const AGENTS = ['flannel', 'calico', 'cilium', 'kindnet', 'ip-masq-agent', 'aws-vpc-cni'] as const;
export type Agent = (typeof AGENTS)[number];

const FLANNEL = 0;
const CALICO = 1;
const CILIUM = 2;
/** kindnet, ip-masq-agent and the AWS VPC CNI: any source, every destination outside `a`. */
const OUTSIDE = 3;

interface Rule {
  readonly agent: Agent;
  readonly kind: number;
  /** Which families the rule is written for (bit 4 and bit 6 as 1 << family). */
  readonly families: number;
  /** flannel: the network; Calico: the natOutgoing pools; Cilium: the native routing CIDR (empty: the node's own); OUTSIDE: the exempt destinations. */
  readonly a: PrefixList;
  /** flannel: the multicast ranges; Calico: every pool. */
  readonly b: PrefixList;
  /** Cilium with native routing: traffic to the cluster's nodes is not masqueraded. */
  readonly sparesNodes: boolean;
  /** SNAT --to-source the node's primary IP (the AWS VPC CNI) rather than MASQUERADE to the route's source. */
  readonly toNodeIP: boolean;
}

/** What a step says of the rule that matched: the agent, the rule as it writes it, and why it matched, in words. */
export interface EgressRuleRef {
  readonly agent: Agent;
  readonly rule: string;
  readonly why: string;
}

const MULTICAST = [Prefix.parse('224.0.0.0/4'), Prefix.parse('ff00::/8')];
const RFC1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];
const RESERVED = ['100.64.0.0/10', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4'];
const LINK_LOCAL = { 4: Prefix.parse('169.254.0.0/16'), 6: Prefix.parse('fe80::/10') } as const;

/** The smallest prefix that holds every prefix given (of one family), or undefined for none. */
function span(prefixes: readonly Prefix[]): Prefix | undefined {
  if (prefixes.length === 0) return undefined;
  return Prefix.smallestContaining(prefixes.flatMap((p) => [p.first(), p.last()]));
}

const byFamily = (prefixes: readonly Prefix[]) =>
  ([4, 6] as const).map((f) => span(prefixes.filter((p) => p.family === f))).filter((p) => p !== undefined);

const cidrs = (texts: readonly string[] | undefined) => (texts ?? []).map((t) => Prefix.parse(t));
const bit = (f: Family) => 1 << f;

export class Masquerade {
  private readonly rules: Rule[];
  /** The node a netns is, or -1: only nodes masquerade. */
  readonly nodeOfNetns: Int32Array;
  /** Each node's pod CIDRs: nodePods[nodePodStart[n] .. nodePodStart[n + 1]). */
  private readonly nodePods: PrefixList;
  private readonly nodePodStart: Int32Array;
  /** Links whose name starts with cilium_ (Cilium's `! -o cilium_+`). */
  private readonly ciliumLink: Uint8Array;
  readonly nodeIPs: readonly (readonly [Addr | undefined, Addr | undefined])[];

  constructor(rules: Rule[], cluster: ClusterDoc, fabric: Fabric) {
    this.rules = rules;
    this.nodeOfNetns = new Int32Array(fabric.netns.length).fill(-1);
    const pods: Prefix[] = [];
    this.nodePodStart = new Int32Array(cluster.nodes.length + 1);
    cluster.nodes.forEach((node, i) => {
      const ns = fabric.byName.get(node.name);
      if (ns !== undefined) this.nodeOfNetns[ns.id] = i;
      this.nodePodStart[i] = pods.length;
      for (const c of node.podCIDRs) pods.push(Prefix.parse(c));
    });
    this.nodePodStart[cluster.nodes.length] = pods.length;
    this.nodePods = new PrefixList(pods);
    this.ciliumLink = new Uint8Array(fabric.links.length);
    for (const link of fabric.links) if (link.name.startsWith('cilium_')) this.ciliumLink[link.id] = 1;
    this.nodeIPs = cluster.nodes.map((n) => [nodeAddr(n, 4), nodeAddr(n, 6)] as const);
  }

  /** The node netns `ns` is, or -1: only nodes masquerade. */
  node(ns: number): number {
    return this.nodeOfNetns[ns]!;
  }

  /**
   * The rule of netns `ns` that masquerades a packet from `s` to the destination words (owned by `dstOwner`) leaving by
   * link `out`, or -1; -1 too where `ns` is no node.
   */
  match(ns: number, out: number, s: Addr, family: Family, d0: number, d1: number, d2: number, d3: number, owners: Owners, dstOwner: number): number {
    const node = this.nodeOfNetns[ns]!;
    if (node < 0) return -1;
    const pods = this.nodePods;
    const p0 = this.nodePodStart[node]!;
    const p1 = this.nodePodStart[node + 1]!;
    const rules = this.rules;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      if ((rule.families & (1 << family)) === 0) continue;
      const a = rule.a;
      const b = rule.b;
      switch (rule.kind) {
        case FLANNEL: {
          const dstOwn = pods.any(p0, p1, family, d0, d1, d2, d3);
          if (dstOwn) continue;
          const dstNet = a.any(0, a.length, family, d0, d1, d2, d3);
          if (dstNet && pods.any(p0, p1, family, s.w0, s.w1, s.w2, s.w3)) continue;
          if (a.any(0, a.length, family, s.w0, s.w1, s.w2, s.w3)) {
            if (!b.any(0, b.length, family, d0, d1, d2, d3)) return r;
          } else if (dstNet) return r;
          continue;
        }
        // The destination first: the source's Addr is one more object in the heap, a cache miss a pod-to-pod trace
        // need not pay.
        case CALICO:
          if (!b.any(0, b.length, family, d0, d1, d2, d3) && a.any(0, a.length, family, s.w0, s.w1, s.w2, s.w3)) return r;
          continue;
        case CILIUM: {
          if (this.ciliumLink[out] === 1) continue;
          let native = false;
          let exempt = false;
          for (let i = 0; i < a.length; i++) {
            if (a.prefixes[i]!.family !== family) continue;
            native = true;
            if (a.holds(i, family, d0, d1, d2, d3)) exempt = true;
          }
          if (!native) exempt = pods.any(p0, p1, family, d0, d1, d2, d3);
          if (exempt || (rule.sparesNodes && this.toNode(owners, dstOwner))) continue;
          if (pods.any(p0, p1, family, s.w0, s.w1, s.w2, s.w3)) return r;
          continue;
        }
        default:
          if (!a.any(0, a.length, family, d0, d1, d2, d3)) return r;
      }
    }
    return -1;
  }

  /** Whether the destination (its first owner entry) is an address of one of the cluster's nodes. */
  private toNode(owners: Owners, dstOwner: number): boolean {
    for (let o = dstOwner; o >= 0; o = owners.next(o)) {
      const ns = owners.netns(o);
      if (ns >= 0 && this.nodeOfNetns[ns]! >= 0) return true;
    }
    return false;
  }

  /** The SNAT target of rule `r` on `node`: the node's primary IP for --to-source, undefined for MASQUERADE. */
  target(r: number, node: number, family: Family): Addr | undefined {
    return this.rules[r]!.toNodeIP ? this.nodeIPs[node]![family === 4 ? 0 : 1] : undefined;
  }

  /** The rule `r` of `node` as its agent writes it, for a packet of `family` from `src`. */
  describe(r: number, node: number, family: Family, src: Addr): EgressRuleRef {
    const rule = this.rules[r]!;
    const list = (l: PrefixList) => l.prefixes.filter((p) => p.family === family).join(', ') || 'none';
    const own = this.nodePods.prefixes.slice(this.nodePodStart[node]!, this.nodePodStart[node + 1]!).filter((p) => p.family === family);
    switch (rule.kind) {
      case FLANNEL: {
        const net = list(rule.a);
        const fromNet = rule.a.prefixes.some((p) => p.contains(src));
        return fromNet
          ? {
              agent: rule.agent,
              rule: `FLANNEL-POSTRTG -s ${net} ! -d ${MULTICAST[family === 4 ? 0 : 1]} -j MASQUERADE`,
              why: `flanneld (--ip-masq) masquerades traffic from the flannel network ${net} to outside it`,
            }
          : {
              agent: rule.agent,
              rule: `FLANNEL-POSTRTG ! -s ${net} -d ${net} -j MASQUERADE`,
              why: `flanneld (--ip-masq) masquerades traffic from outside the flannel network ${net} to a pod of another node`,
            };
      }
      case CALICO:
        return {
          agent: rule.agent,
          rule: `cali-nat-outgoing --match-set cali${family}0masq-ipam-pools src ! --match-set cali${family}0all-ipam-pools dst -j MASQUERADE`,
          why: `the source is in a natOutgoing IPPool (${list(rule.a)}) and the destination in no IPPool (${list(rule.b)})`,
        };
      case CILIUM: {
        const exempt = rule.a.prefixes.some((p) => p.family === family) ? list(rule.a) : own.join(', ');
        return {
          agent: rule.agent,
          rule: `CILIUM_POST_nat ! -d ${exempt} -s ${own.join(', ')} ! -o cilium_+ -j MASQUERADE`,
          why: `Cilium (enable-ipv${family}-masquerade) masquerades traffic from this node's pods to outside ${exempt} that does not leave by a cilium_ device`,
        };
      }
      default: {
        const exempt = list(rule.a);
        if (rule.agent === 'aws-vpc-cni') {
          return {
            agent: rule.agent,
            rule: `AWS-SNAT-CHAIN ! -d ${exempt} -j SNAT --to-source ${this.nodeIPs[node]![0]}`,
            why: `the AWS VPC CNI (AWS_VPC_K8S_CNI_EXTERNALSNAT false) SNATs traffic to outside the VPC and the excluded CIDRs (${exempt}) to the node's primary IP`,
          };
        }
        const chain = rule.agent === 'kindnet' ? 'KIND-MASQ-AGENT' : 'IP-MASQ-AGENT';
        return {
          agent: rule.agent,
          rule: `${chain} ! -d ${exempt} -j MASQUERADE`,
          why: `${rule.agent === 'kindnet' ? 'kindnetd' : 'ip-masq-agent'} masquerades traffic leaving the node for a destination outside ${exempt}`,
        };
      }
    }
  }
}

/** The egress masquerade of a cluster's data path, or undefined where nothing masquerades. */
export function compileMasquerade(cluster: ClusterDoc, fabric: Fabric): Masquerade | undefined {
  const cni = cluster.cni ?? { plugin: 'bridge' as const };
  const podCIDRs = cluster.nodes.flatMap((n) => n.podCIDRs.map((t) => Prefix.parse(t)));
  const podSpan = byFamily(podCIDRs);
  // Where the pods' addresses are: their nodes' CIDRs and their own IPs (which the cloud data paths take from the VPC),
  // per family the smallest prefix around them; widened address by address, since 150,000 pods make no list of prefixes.
  const podSpace = (): Prefix[] => {
    const around = new Map<Family, Prefix>(podSpan.map((p) => [p.family, p]));
    for (const pod of cluster.pods ?? []) {
      if (pod.hostNetwork) continue;
      for (const a of podAddrs(pod)) {
        let p = around.get(a.family) ?? Prefix.of(a, a.bits);
        while (!p.contains(a)) p = Prefix.of(p.addr, p.bits - 1);
        around.set(a.family, p);
      }
    }
    return [...around.values()];
  };
  const rules: Rule[] = [];
  const empty = new PrefixList([]);
  const rule = (r: Omit<Rule, 'b' | 'sparesNodes' | 'toNodeIP'> & Partial<Rule>) =>
    rules.push({ b: empty, sparesNodes: false, toNodeIP: false, ...r });
  switch (cni.plugin) {
    case 'flannel': {
      if (cni.ipMasq === false) break;
      const given = [cni.network, cni.ipv6Network].filter((t) => t !== undefined).map((t) => Prefix.parse(t));
      const network = [4, 6].map((f) => given.find((p) => p.family === f) ?? podSpan.find((p) => p.family === f)).filter((p) => p !== undefined);
      rule({ agent: 'flannel', kind: FLANNEL, families: network.reduce((m, p) => m | bit(p.family), 0), a: new PrefixList(network), b: new PrefixList(MULTICAST) });
      break;
    }
    case 'calico': {
      let pools = (cni.ipPools ?? []).map((p) => ({ cidr: Prefix.parse(p.cidr), nat: p.natOutgoing === true }));
      if (cni.ipPools === undefined) {
        const blocks = (cni.ipamBlocks ?? []).map((b) => Prefix.parse(b.cidr));
        pools = byFamily([...podSpace(), ...blocks]).map((cidr) => ({ cidr, nat: cidr.family === 4 }));
      }
      const masq = pools.filter((p) => p.nat).map((p) => p.cidr);
      if (masq.length === 0) break;
      const families = masq.reduce((m, p) => m | bit(p.family), 0);
      rule({ agent: 'calico', kind: CALICO, families, a: new PrefixList(masq), b: new PrefixList(pools.map((p) => p.cidr)) });
      break;
    }
    case 'cilium': {
      const families = (cni.enableIPv4Masquerade === false ? 0 : bit(4)) | (cni.enableIPv6Masquerade === false ? 0 : bit(6));
      if (families === 0) break;
      const native = (cni.routing ?? 'tunnel') === 'native';
      const given = [cni.ipv4NativeRoutingCIDR, cni.ipv6NativeRoutingCIDR].filter((t) => t !== undefined).map((t) => Prefix.parse(t));
      // Cilium refuses native routing with masquerading and no native routing CIDR: the pods' span stands in for it.
      const exempt = native ? [4, 6].map((f) => given.find((p) => p.family === f) ?? podSpan.find((p) => p.family === f)).filter((p) => p !== undefined) : given;
      rule({ agent: 'cilium', kind: CILIUM, families, a: new PrefixList(exempt), sparesNodes: native });
      break;
    }
    case 'kindnet': {
      const subnet = cni.podSubnet !== undefined ? cidrs(cni.podSubnet) : podSpan;
      rule({ agent: 'kindnet', kind: OUTSIDE, families: bit(4) | bit(6), a: new PrefixList(subnet) });
      break;
    }
    case 'aws-vpc-cni': {
      if (cni.externalSNAT === true) break;
      const vpc = cni.vpcCIDRs !== undefined ? cidrs(cni.vpcCIDRs) : vpcOf(cluster, podSpace());
      // aws-node writes the IPv4 chain only: an IPv6 cluster's pods hold global addresses and leave unSNATed.
      rule({ agent: 'aws-vpc-cni', kind: OUTSIDE, families: bit(4), a: new PrefixList([...vpc, ...cidrs(cni.excludeSNATCIDRs)]), toNodeIP: true });
      break;
    }
  }
  const agent = cluster.ipMasqAgent ?? defaultAgent(cluster, podSpace);
  if (agent !== undefined) {
    const reserved = agent.nomasqAllReservedRanges === true ? RESERVED : [];
    const exempt = [...cidrs(agent.nonMasqueradeCIDRs ?? [...RFC1918, ...reserved])];
    if (agent.masqLinkLocal !== true) exempt.push(LINK_LOCAL[4]);
    if (agent.masqLinkLocalIPv6 !== true) exempt.push(LINK_LOCAL[6]);
    rule({ agent: 'ip-masq-agent', kind: OUTSIDE, families: bit(4) | (agent.enableIPv6 === true ? bit(6) : 0), a: new PrefixList(exempt) });
  }
  return rules.length === 0 ? undefined : new Masquerade(rules, cluster, fabric);
}

/** ip-masq-agent as the managed data paths run it when the document says nothing of it. */
function defaultAgent(cluster: ClusterDoc, podSpace: () => readonly Prefix[]): ClusterDoc['ipMasqAgent'] {
  const cni = cluster.cni;
  if (cni?.plugin === 'gke') return { nomasqAllReservedRanges: true };
  // AKS's azure-ip-masq-agent-config: the VNet's address space, and the overlay's pod CIDR.
  if (cni?.plugin === 'azure-cni') return { nonMasqueradeCIDRs: vpcOf(cluster, podSpace()).map(String) };
  return undefined;
}

/**
 * A VPC's (VNet's) CIDR blocks where the document does not give them: per family the smallest prefix around the nodes'
 * subnets, and the one around the pods' addresses (a secondary block, as custom networking and overlays use).
 */
function vpcOf(cluster: ClusterDoc, podSpace: readonly Prefix[]): Prefix[] {
  const subnets = byFamily(underlaySubnets(cluster));
  return [...subnets, ...byFamily(podSpace).filter((p) => !subnets.some((s) => s.containsPrefix(p)))];
}

/** The nodes' subnets: network.subnets, network.cidr, or the smallest prefix around the node addresses of each family. */
function underlaySubnets(cluster: ClusterDoc): Prefix[] {
  const network = cluster.network;
  if (network?.subnets !== undefined && network.subnets.length > 0) return cidrs(network.subnets);
  const given = network?.cidr === undefined ? [] : [Prefix.parse(network.cidr)];
  const fams = ([4, 6] as const).filter((f) => !given.some((p) => p.family === f));
  const around = fams.flatMap((f) => {
    const addrs = cluster.nodes.map((n) => nodeAddr(n, f)).filter((a) => a !== undefined);
    return addrs.length === 0 ? [] : [Prefix.smallestContaining(addrs)];
  });
  return [...given, ...around];
}
