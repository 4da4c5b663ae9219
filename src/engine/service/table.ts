// The compiled service table: what kube-proxy programs into every node, as typed arrays the walk reads without strings or
// allocation. A Service port (one per Service, port and family) has its frontends (ClusterIP, externalIPs, load-balancer
// ingress IPs: an address, protocol and port; its NodePort: a protocol and port on the node's own addresses), its
// traffic policies and its endpoints. Frontends are found by hashing (family, address, protocol, port).
import { Addr, type Family } from '../addr.js';
import type { Fabric } from '../fabric.js';
import { Prefix } from '../prefix.js';
import { nodeAddr } from '../compile/underlay.js';
import type { ClusterDoc } from '../../topology/schema.js';
import { proxyConfig, sloppyPrefix, type ProxyConfig } from './config.js';
import { endpointKey, indexEndpoints, READY, SERVING, TERMINATING, type EndpointFacts } from './endpoints.js';

/** The node label kube-proxy's topology-aware routing reads (v1.LabelTopologyZone). */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
import { PrefixList } from './prefixes.js';

export const TCP = 1;
export const UDP = 2;
export const SCTP = 3;
export const PROTOCOLS = ['', 'TCP', 'UDP', 'SCTP'] as const;

/** How a packet met the Service: the frontend kinds, in kube-proxy's terms. */
export const CLUSTER_IP = 0;
export const EXTERNAL_IP = 1;
export const LOAD_BALANCER = 2;
export const NODE_PORT = 3;
export const FRONTENDS = ['clusterIP', 'externalIP', 'loadBalancer', 'nodePort'] as const;

/** Service port flags. */
export const ITP_LOCAL = 1;
/** externalTrafficPolicy Local on a port that takes external traffic at all. */
export const ETP_LOCAL = 2;
/** Takes external traffic: a NodePort, an externalIP or a load-balancer IP. */
export const EXTERNAL = 4;
/** loadBalancerSourceRanges filter its load-balancer IPs. */
export const FIREWALL = 8;

export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** Per family, as the Service lists them. */
  readonly clusterIPs: readonly Addr[];
  readonly loadBalancerIPs: readonly Addr[];
  /** sessionAffinity ClientIP: how long (s) a client keeps its endpoint after its last packet; 0 for None. */
  readonly affinitySeconds: number;
}

/** kube-proxy's default sessionAffinityConfig.clientIP.timeoutSeconds (v1.DefaultClientIPServiceAffinitySeconds). */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

export function protocolCode(p: string | undefined): number {
  switch (p) {
    case 'tcp':
    case 'TCP':
      return TCP;
    case 'udp':
    case 'UDP':
      return UDP;
    case 'sctp':
    case 'SCTP':
      return SCTP;
    default:
      return 0;
  }
}

const hashOf = (family: number, w0: number, w1: number, w2: number, w3: number, proto: number, port: number) => {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w1 ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ w2 ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ w3 ^ (h >>> 13), 0xc2b2ae35);
  h ^= (port << 8) | (proto << 4) | family;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
};

/** Ints per endpoint in ServiceTable.epWalk, and where its port and owner are (its address's words come first). */
export const EP_WALK = 8;
export const EP_PORT = 4;
export const EP_OWNER = 5;

/** Ints per Service port in ServiceTable.spFacts, and what they are. */
export const SP = 8;
export const SP_FLAGS = 0;
export const SP_READY = 1;
export const SP_FALLBACK = 2;
export const SP_CLUSTER = 3;
export const SP_CLUSTER_END = 4;
const SP_EP = 5;
const SP_EP_END = 6;

/** Ints per frontend in ServiceTable.fe, and where its facts are after its address's words. */
const FE = 8;
const FE_KEY = 4;
const FE_SP = 5;
const FE_KIND = 6;
const FE_NEXT = 7;
/** A frontend's family, protocol and port in one int (a port is 16 bits, a protocol code 2, a family 4 or 6). */
const frontendKey = (family: number, proto: number, port: number) => (port << 8) | (proto << 4) | family;

/** topologyFilter(): the endpoints hinted for the node itself (zones are numbered from 0). */
export const SAME_NODE = -2;

const ADDRESS_BITS = 1 << 16;
/**
 * An address's block: its /16 for IPv4, a hash of its /48 for IPv6 (ADDRESS_BITS of them). Pods' addresses fall in a
 * few blocks that hold no Service address, so the packets to pods read one bit of a line or two that stay in cache.
 */
const blockBit = (family: Family, w0: number, w1: number) =>
  family === 4 ? w0 >>> 16 : Math.imul(w0 ^ Math.imul(w1 >>> 16, 0x85ebca6b), 0x9e3779b1) >>> 16;
/** An address's /12 (IPv4), or its block's hash (IPv6), among 32. */
export const coarseBit = (family: Family, w0: number, w1: number) => (family === 4 ? w0 >>> 20 : blockBit(family, w0, w1)) & 31;
const addressBit = (w0: number, w1: number, w2: number, w3: number) => (Math.imul(w0 ^ w1 ^ w2 ^ w3, 0x9e3779b1) >>> 16) & (ADDRESS_BITS - 1);

/** Each endpoint's list of names as numbers, flattened: values[start[e] .. start[e + 1]). */
function perEndpoint(eps: readonly EndpointFacts[], names: (e: EndpointFacts) => readonly string[] | undefined, id: (name: string) => number): [Int32Array, Int32Array] {
  const start = new Int32Array(eps.length + 1);
  const values: number[] = [];
  eps.forEach((e, i) => {
    start[i] = values.length;
    for (const name of names(e) ?? []) values.push(id(name));
  });
  start[eps.length] = values.length;
  return [start, Int32Array.from(values)];
}

const nodePortKey = (family: number, proto: number, port: number) => (family === 6 ? 1 << 20 : 0) | (proto << 16) | port;

/** ServiceTable.clusterIPsCheck's answer for an address of the service CIDR that no Service holds. */
export const UNALLOCATED_CLUSTER_IP = -2;

export class ServiceTable {
  readonly services: ServiceInfo[] = [];
  // Service ports.
  readonly spService: Int32Array;
  readonly spPortName: string[] = [];
  readonly spProto: Uint8Array;
  readonly spPort: Int32Array;
  readonly spNodePort: Int32Array;
  readonly spFamily: Uint8Array;
  readonly spRangeStart: Int32Array;
  readonly spRangeEnd: Int32Array;
  /**
   * What kube-proxy's decision reads of a Service port, SP ints side by side (one cache line, not one per array): its
   * flags; how many of its endpoints are ready, and how many serving and terminating (the fallback when none is
   * ready); its cluster chain, worked out once (the ready endpoints, or else the fallback ones, in the slices' order:
   * clusterEps[SP_CLUSTER .. SP_CLUSTER_END)); and the range of its endpoints in the endpoint arrays.
   */
  readonly spFacts: Int32Array;
  readonly clusterEps: Int32Array;
  /**
   * Each Service port's endpoints ordered by node (epNode), in the slices' order within a node, in the port's range of
   * the endpoint arrays: a node's local endpoints are found by binary search, not by reading them all.
   */
  readonly byNode: Int32Array;
  // Endpoints.
  readonly epAddr: Addr[] = [];
  readonly epPort: Int32Array;
  /** The node the endpoint is on, or -1 (no nodeName, or a node not in the cluster: remote from every node). */
  readonly epNode: Int32Array;
  readonly epFlags: Uint8Array;
  /** fabric.owners.first(address): the destination owner the walk continues with after DNAT. */
  readonly epOwner: Int32Array;
  readonly epNodeName: (string | undefined)[] = [];
  /** Each endpoint's topology hints, as zone numbers: epZones[epZoneStart[e] .. epZoneStart[e + 1]). */
  private readonly epZoneStart: Int32Array;
  private readonly epZones: Int32Array;
  /** Each endpoint's node hints, as node numbers (-1: a node the cluster does not list): epNodeHints[epNodeHintStart[e] ..). */
  private readonly epNodeHintStart: Int32Array;
  private readonly epNodeHints: Int32Array;
  /** Per Service port: every ready endpoint has a node hint (PreferSameNode's first condition). */
  private readonly spNodeHinted: Uint8Array;
  /** Per Service port: every ready endpoint has a zone hint (kube-proxy's first condition for topology-aware routing). */
  private readonly spHinted: Uint8Array;
  /** Each node's topology.kubernetes.io/zone as a zone number, or -1 where it has none. */
  readonly nodeZone: Int32Array;
  readonly zoneNames: string[] = [];
  /**
   * What the walk reads of the endpoint it DNATs to, side by side (EP_WALK ints each, so one cache line): its address's
   * four words (as int32: read them with >>> 0), its port and its first owner. The Addr objects are spread over the
   * heap, a cache miss each.
   */
  readonly epWalk: Int32Array;
  readonly ranges: PrefixList;
  // Frontends, hashed.
  /**
   * FE ints per frontend, read together by a lookup (one cache line, not one per array): its address's four words (as
   * int32), family, protocol and port in one key, its Service port, its kind, and the next frontend of its bucket.
   */
  private readonly fe: Int32Array;
  private readonly buckets: Int32Array;
  private readonly serviceCIDRList: PrefixList;
  /**
   * Filters before the buckets (a cache miss), for the packets that are to no Service, most of those a trace meets (pod
   * to pod): a bit per block holding a frontend (blockBit: one of the few lines pods' blocks hit), then a bit per hash
   * of a frontend's address (with 10,000 Services a tenth of these bits are set, spread over 8 KB).
   */
  private readonly feBlockBits = new Int32Array(ADDRESS_BITS >>> 5);
  /**
   * A bit per coarseBit() of the frontends' addresses: 32 bits a walker copies into its own fields, so that a packet to
   * a pod (a /12 apart from the Services' in the usual layouts) is told apart without reading the table, whose lines a
   * trace's walk over a large cluster has evicted (pod to pod paid ~10% for those misses).
   */
  readonly coarseBits: number;
  private readonly feAddrBits = new Int32Array(ADDRESS_BITS >>> 5);
  private readonly nodePorts = new Map<number, number>();
  /** The lowest and highest NodePort: a port outside them (most flows' are) is no NodePort without asking the Map. */
  readonly nodePortLow: number = 65536;
  readonly nodePortHigh: number = -1;
  /** TCP ports kube-proxy's health check server answers on every node, by the Service that has it. */
  readonly healthCheckNodePorts = new Map<number, number>();
  // Nodes.
  /** The node a netns is (kube-proxy runs there), or -1. */
  readonly nodeOfNetns: Int32Array;
  readonly nodeNames: string[] = [];
  /** Each node's primary address per family (InternalIP, else ExternalIP): kube-proxy's node IP. */
  readonly nodeIP4: (Addr | undefined)[] = [];
  readonly nodeIP6: (Addr | undefined)[] = [];
  readonly podCIDRs: PrefixList;
  readonly podCIDRStart: Int32Array;
  readonly clusterCIDRs: PrefixList;
  readonly nodePortPrefixes: PrefixList;
  /** Per link: kube-proxy counts a packet that came in by it as from a pod (detectLocalMode by interface). */
  readonly podInterface: Uint8Array;
  readonly serviceCIDRs: readonly Prefix[];
  /** The nftables mode's cluster-ips-check is on: a flag, so that the walk compares no strings at each node. */
  readonly hasClusterIPsCheck: boolean;
  /**
   * Who translates Services instead of kube-proxy: Cilium's kube-proxy replacement (cilium-config kube-proxy-replacement),
   * whose BPF programs choose among the same endpoints by the same rules, but elsewhere than the node's iptables.
   */
  readonly replacedBy: 'cilium' | undefined;

  constructor(
    readonly config: ProxyConfig,
    cluster: ClusterDoc,
    fabric: Fabric,
  ) {
    const nodeIndex = new Map<string, number>();
    this.nodeOfNetns = new Int32Array(fabric.netns.length).fill(-1);
    const zoneIds = new Map<string, number>();
    const zoneId = (z: string) => {
      let id = zoneIds.get(z);
      if (id === undefined) {
        zoneIds.set(z, (id = this.zoneNames.length));
        this.zoneNames.push(z);
      }
      return id;
    };
    this.nodeZone = new Int32Array(cluster.nodes.length).fill(-1);
    const cidrs: Prefix[] = [];
    this.podCIDRStart = new Int32Array(cluster.nodes.length + 1);
    cluster.nodes.forEach((node, i) => {
      nodeIndex.set(node.name, i);
      this.nodeNames.push(node.name);
      const zone = node.labels?.[ZONE_LABEL];
      if (zone) this.nodeZone[i] = zoneId(zone);
      this.nodeIP4.push(nodeAddr(node, 4));
      this.nodeIP6.push(nodeAddr(node, 6));
      const ns = fabric.byName.get(node.name);
      if (ns !== undefined) this.nodeOfNetns[ns.id] = i;
      this.podCIDRStart[i] = cidrs.length;
      for (const c of node.podCIDRs) cidrs.push(Prefix.parse(c));
    });
    this.podCIDRStart[cluster.nodes.length] = cidrs.length;
    this.podCIDRs = new PrefixList(cidrs);
    this.clusterCIDRs = new PrefixList(config.clusterCIDRs);
    this.nodePortPrefixes = new PrefixList(config.nodePortAddresses === 'all' ? [] : config.nodePortAddresses);
    this.serviceCIDRs = (cluster.serviceCIDRs ?? []).map((s) => Prefix.parse(s));
    this.replacedBy = cluster.cni?.plugin === 'cilium' && cluster.cni.kubeProxyReplacement === true ? 'cilium' : undefined;
    // Where Cilium replaces kube-proxy, no kube-proxy runs to install the nftables mode's check, whatever its config says.
    this.hasClusterIPsCheck = config.mode === 'nftables' && this.replacedBy === undefined;
    this.podInterface = new Uint8Array(fabric.links.length);
    for (const link of fabric.links) {
      const master = link.master >= 0 ? fabric.links[link.master]!.name : undefined;
      const byBridge =
        config.detectLocalMode === 'BridgeInterface' && (link.name === config.bridgeInterface || master === config.bridgeInterface);
      const byPrefix =
        config.detectLocalMode === 'InterfaceNamePrefix' && config.interfaceNamePrefix !== undefined && link.name.startsWith(config.interfaceNamePrefix);
      if (link.netns >= 0 && this.nodeOfNetns[link.netns]! >= 0 && (byBridge || byPrefix)) this.podInterface[link.id] = 1;
    }

    const endpoints = indexEndpoints(cluster);
    interface Port {
      service: number;
      name: string;
      proto: number;
      port: number;
      nodePort: number;
      family: Family;
      flags: number;
      eps: EndpointFacts[];
      ranges: Prefix[];
    }
    interface Frontend {
      addr: Addr;
      proto: number;
      port: number;
      sp: number;
      kind: number;
    }
    const ports: Port[] = [];
    const frontends: Frontend[] = [];
    for (const svc of cluster.services ?? []) {
      const spec = svc.spec;
      const type = spec.type ?? 'ClusterIP';
      if (type === 'ExternalName') continue;
      const namespace = svc.metadata.namespace ?? 'default';
      const given = spec.clusterIPs ?? (spec.clusterIP === undefined ? [] : [spec.clusterIP]);
      const clusterIPs = given.filter((s) => s !== 'None' && s !== '').map((s) => Addr.parse(s));
      const externalIPs = (spec.externalIPs ?? []).map((s) => Addr.parse(s));
      // kube-proxy programs only VIP-mode ingress: a Proxy-mode load balancer sends its traffic to the nodes itself.
      const lbIPs = (svc.status?.loadBalancer?.ingress ?? [])
        .filter((i) => i.ip !== undefined && (i.ipMode ?? 'VIP') === 'VIP')
        .map((i) => Addr.parse(i.ip!));
      const service = this.services.length;
      const affinitySeconds = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : 0;
      this.services.push({ namespace, name: svc.metadata.name, type, clusterIPs, loadBalancerIPs: lbIPs, affinitySeconds });
      if (type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort !== undefined) {
        this.healthCheckNodePorts.set(spec.healthCheckNodePort, service);
      }
      // A headless Service has no ClusterIP and kube-proxy programs nothing for it.
      if (clusterIPs.length === 0) continue;
      const ranges = (spec.loadBalancerSourceRanges ?? []).map(sloppyPrefix);
      for (const clusterIP of clusterIPs) {
        const family = clusterIP.family;
        let addressOnly = true;
        for (const p of spec.ports ?? []) {
          const proto = protocolCode(p.protocol ?? 'TCP');
          const nodePort = type === 'NodePort' || type === 'LoadBalancer' ? (p.nodePort ?? 0) : 0;
          const famExt = externalIPs.filter((a) => a.family === family);
          const famLb = lbIPs.filter((a) => a.family === family);
          const famRanges = ranges.filter((r) => r.family === family);
          const external = nodePort > 0 || famExt.length > 0 || famLb.length > 0;
          let flags = 0;
          if (spec.internalTrafficPolicy === 'Local') flags |= ITP_LOCAL;
          if (external) flags |= EXTERNAL;
          if (external && spec.externalTrafficPolicy === 'Local') flags |= ETP_LOCAL;
          if (famLb.length > 0 && famRanges.length > 0) flags |= FIREWALL;
          const sp = ports.length;
          const name = p.name ?? '';
          const eps = endpoints.get(endpointKey(namespace, svc.metadata.name, name, PROTOCOLS[proto]!, family)) ?? [];
          ports.push({ service, name, proto, port: p.port, nodePort, family, flags, eps, ranges: famRanges });
          frontends.push({ addr: clusterIP, proto, port: p.port, sp, kind: CLUSTER_IP });
          // The address alone (protocol and port 0, which no packet's lookup uses): the nftables mode's cluster-ips set.
          if (addressOnly) frontends.push({ addr: clusterIP, proto: 0, port: 0, sp, kind: CLUSTER_IP });
          addressOnly = false;
          for (const a of famExt) frontends.push({ addr: a, proto, port: p.port, sp, kind: EXTERNAL_IP });
          for (const a of famLb) frontends.push({ addr: a, proto, port: p.port, sp, kind: LOAD_BALANCER });
          if (nodePort > 0) {
            this.nodePorts.set(nodePortKey(family, proto, nodePort), sp);
            this.nodePortLow = Math.min(this.nodePortLow, nodePort);
            this.nodePortHigh = Math.max(this.nodePortHigh, nodePort);
          }
        }
      }
    }

    const n = ports.length;
    this.spService = new Int32Array(n);
    this.spProto = new Uint8Array(n);
    this.spPort = new Int32Array(n);
    this.spNodePort = new Int32Array(n);
    this.spFamily = new Uint8Array(n);
    this.spRangeStart = new Int32Array(n);
    this.spRangeEnd = new Int32Array(n);
    this.spHinted = new Uint8Array(n);
    this.spNodeHinted = new Uint8Array(n);
    this.spFacts = new Int32Array(SP * n);
    const allRanges: Prefix[] = [];
    const eps: EndpointFacts[] = [];
    ports.forEach((p, i) => {
      this.spService[i] = p.service;
      this.spPortName.push(p.name);
      this.spProto[i] = p.proto;
      this.spPort[i] = p.port;
      this.spNodePort[i] = p.nodePort;
      this.spFamily[i] = p.family;
      this.spHinted[i] = p.eps.every((e) => !(e.flags & READY) || e.zones !== undefined) ? 1 : 0;
      this.spNodeHinted[i] = p.eps.every((e) => !(e.flags & READY) || e.nodes !== undefined) ? 1 : 0;
      this.spFacts[SP * i + SP_FLAGS] = p.flags;
      this.spFacts[SP * i + SP_EP] = eps.length;
      eps.push(...p.eps);
      this.spFacts[SP * i + SP_EP_END] = eps.length;
      this.spRangeStart[i] = allRanges.length;
      allRanges.push(...p.ranges);
      this.spRangeEnd[i] = allRanges.length;
    });
    this.ranges = new PrefixList(allRanges);
    const m = eps.length;
    this.epPort = new Int32Array(m);
    this.epNode = new Int32Array(m);
    this.epFlags = new Uint8Array(m);
    this.epOwner = new Int32Array(m);
    [this.epZoneStart, this.epZones] = perEndpoint(eps, (e) => e.zones, zoneId);
    [this.epNodeHintStart, this.epNodeHints] = perEndpoint(eps, (e) => e.nodes, (name) => nodeIndex.get(name) ?? -1);
    this.epWalk = new Int32Array(m * EP_WALK);
    eps.forEach((e, i) => {
      this.epAddr.push(e.addr);
      this.epPort[i] = e.port;
      this.epNode[i] = e.nodeName === undefined ? -1 : (nodeIndex.get(e.nodeName) ?? -1);
      this.epNodeName.push(e.nodeName);
      this.epFlags[i] = e.flags;
      this.epOwner[i] = fabric.owners.first(e.addr);
      const w = i * EP_WALK;
      for (let k = 0; k < 4; k++) this.epWalk[w + k] = e.addr.word(k);
      this.epWalk[w + EP_PORT] = e.port;
      this.epWalk[w + EP_OWNER] = this.epOwner[i]!;
    });
    this.byNode = new Int32Array(m);
    const chains: number[] = [];
    for (let sp = 0; sp < n; sp++) {
      const start = this.epStart(sp);
      const end = this.epEnd(sp);
      const ready: number[] = [];
      const fallback: number[] = [];
      for (let e = start; e < end; e++) {
        const flags = this.epFlags[e]!;
        if (flags & READY) ready.push(e);
        else if (flags & SERVING && flags & TERMINATING) fallback.push(e);
      }
      this.spFacts[SP * sp + SP_READY] = ready.length;
      this.spFacts[SP * sp + SP_FALLBACK] = fallback.length;
      this.spFacts[SP * sp + SP_CLUSTER] = chains.length;
      for (const e of ready.length > 0 ? ready : fallback) chains.push(e);
      this.spFacts[SP * sp + SP_CLUSTER_END] = chains.length;
      const order = Array.from({ length: end - start }, (_, i) => start + i).sort((a, b) => this.epNode[a]! - this.epNode[b]! || a - b);
      this.byNode.set(order, start);
    }
    this.clusterEps = Int32Array.from(chains);

    const f = frontends.length;
    let size = 16;
    while (size < 2 * f) size *= 2;
    this.buckets = new Int32Array(size).fill(-1);
    this.fe = new Int32Array(FE * f);
    let coarse = 0;
    frontends.forEach((fe, i) => {
      const a = fe.addr;
      const r = FE * i;
      for (let w = 0; w < 4; w++) this.fe[r + w] = a.word(w);
      this.fe[r + FE_KEY] = frontendKey(a.family, fe.proto, fe.port);
      this.fe[r + FE_SP] = fe.sp;
      this.fe[r + FE_KIND] = fe.kind;
      const block = blockBit(a.family, a.w0, a.w1);
      this.feBlockBits[block >>> 5]! |= 1 << (block & 31);
      coarse |= 1 << coarseBit(a.family, a.w0, a.w1);
      const bit = addressBit(a.w0, a.w1, a.w2, a.w3);
      this.feAddrBits[bit >>> 5]! |= 1 << (bit & 31);
      const b = hashOf(a.family, a.w0, a.w1, a.w2, a.w3, fe.proto, fe.port) & (size - 1);
      // The first frontend of an address wins, as kube-proxy's first matching rule does.
      let last = this.buckets[b]!;
      if (last < 0) this.buckets[b] = i;
      else {
        while (this.fe[FE * last + FE_NEXT]! >= 0) last = this.fe[FE * last + FE_NEXT]!;
        this.fe[FE * last + FE_NEXT] = i;
      }
      this.fe[r + FE_NEXT] = -1;
    });
    this.coarseBits = coarse;

    this.serviceCIDRList = new PrefixList(this.serviceCIDRs);
  }

  get size(): number {
    return this.spProto.length;
  }

  /** The frontend (ClusterIP, externalIP, LB IP) with this address, protocol and port, or -1. */
  frontend(family: Family, w0: number, w1: number, w2: number, w3: number, proto: number, port: number): number {
    const block = blockBit(family, w0, w1);
    if ((this.feBlockBits[block >>> 5]! & (1 << (block & 31))) === 0) return -1;
    const bit = addressBit(w0, w1, w2, w3);
    if ((this.feAddrBits[bit >>> 5]! & (1 << (bit & 31))) === 0) return -1;
    const key = frontendKey(family, proto, port);
    const fe = this.fe;
    for (let i = this.buckets[hashOf(family, w0, w1, w2, w3, proto, port) & (this.buckets.length - 1)]!; i >= 0; i = fe[FE * i + FE_NEXT]!) {
      const r = FE * i;
      if (fe[r + FE_KEY] === key && fe[r]! >>> 0 === w0 && fe[r + 1]! >>> 0 === w1 && fe[r + 2]! >>> 0 === w2 && fe[r + 3]! >>> 0 === w3) return i;
    }
    return -1;
  }

  /** A Service port of the Service whose ClusterIP this is (any port), or -1. */
  clusterIP(family: Family, w0: number, w1: number, w2: number, w3: number): number {
    const fe = this.frontend(family, w0, w1, w2, w3, 0, 0);
    return fe < 0 ? -1 : this.frontendSp(fe);
  }

  /** Whether the address is in a service CIDR (the cluster's serviceCIDRs). */
  inServiceCIDR(family: Family, w0: number, w1: number, w2: number, w3: number): boolean {
    return this.serviceCIDRList.any(0, this.serviceCIDRList.length, family, w0, w1, w2, w3);
  }

  /**
   * The nftables mode's cluster-ips-check of a packet still addressed to this destination once kube-proxy's DNAT rules
   * passed it by: a Service port of the ClusterIP (the packet is rejected), UNALLOCATED_CLUSTER_IP (an address of the
   * service CIDR no Service holds: dropped), or -1.
   */
  clusterIPsCheck(family: Family, w0: number, w1: number, w2: number, w3: number): number {
    const sp = this.clusterIP(family, w0, w1, w2, w3);
    if (sp >= 0) return sp;
    return this.inServiceCIDR(family, w0, w1, w2, w3) ? UNALLOCATED_CLUSTER_IP : -1;
  }

  /** A Service port's flags (ITP_LOCAL, ETP_LOCAL, EXTERNAL, FIREWALL), and the range of its endpoints. */
  spFlags(sp: number): number {
    return this.spFacts[SP * sp + SP_FLAGS]!;
  }

  epStart(sp: number): number {
    return this.spFacts[SP * sp + SP_EP]!;
  }

  epEnd(sp: number): number {
    return this.spFacts[SP * sp + SP_EP_END]!;
  }

  /** The Service port of frontend `i`, and its kind (CLUSTER_IP, EXTERNAL_IP, LOAD_BALANCER). */
  frontendSp(i: number): number {
    return this.fe[FE * i + FE_SP]!;
  }

  frontendKind(i: number): number {
    return this.fe[FE * i + FE_KIND]!;
  }

  /** The Service port of a NodePort, or -1. */
  nodePort(family: Family, proto: number, port: number): number {
    if (port < this.nodePortLow || port > this.nodePortHigh) return -1;
    return this.nodePorts.get(nodePortKey(family, proto, port)) ?? -1;
  }

  /** The Services holding this address (any port): for saying why a packet to a Service address was not translated. */
  servicesAt(addr: Addr): number[] {
    const found = new Set<number>();
    for (let r = 0; r < this.fe.length; r += FE) {
      const fe = this.fe;
      if ((fe[r + FE_KEY]! & 15) === addr.family && fe[r]! >>> 0 === addr.w0 && fe[r + 1]! >>> 0 === addr.w1 && fe[r + 2]! >>> 0 === addr.w2 && fe[r + 3]! >>> 0 === addr.w3) {
        found.add(this.spService[fe[r + FE_SP]!]!);
      }
    }
    return [...found];
  }

  /**
   * How kube-proxy on `node` narrows Service port `sp`'s cluster endpoints (topologyModeFromHints, pkg/proxy/topology.go):
   * to those hinted for the node (SAME_NODE: trafficDistribution PreferSameNode, where every ready endpoint has a node
   * hint and one ready endpoint is hinted for this node), else to those hinted for its zone (the zone: the node has a
   * zone label, every ready endpoint has a zone hint, one ready endpoint is hinted for the zone), else not at all (-1).
   */
  topologyFilter(sp: number, node: number): number {
    if (node < 0) return -1;
    const start = this.epStart(sp);
    const end = this.epEnd(sp);
    if (this.spNodeHinted[sp] !== 0) for (let e = start; e < end; e++) if (this.epFlags[e]! & READY && this.hintedForNode(e, node)) return SAME_NODE;
    const zone = this.nodeZone[node]!;
    if (zone < 0 || this.spHinted[sp] === 0) return -1;
    for (let e = start; e < end; e++) if (this.epFlags[e]! & READY && this.hintedFor(e, zone)) return zone;
    return -1;
  }

  /** Whether the topologyFilter() `filter` of node `node` keeps endpoint `e`. */
  topologyKeeps(e: number, filter: number, node: number): boolean {
    return filter === SAME_NODE ? this.hintedForNode(e, node) : filter < 0 || this.hintedFor(e, filter);
  }

  private hintedFor(e: number, zone: number): boolean {
    for (let i = this.epZoneStart[e]!; i < this.epZoneStart[e + 1]!; i++) if (this.epZones[i] === zone) return true;
    return false;
  }

  private hintedForNode(e: number, node: number): boolean {
    for (let i = this.epNodeHintStart[e]!; i < this.epNodeHintStart[e + 1]!; i++) if (this.epNodeHints[i] === node) return true;
    return false;
  }

  /** kube-proxy's node IP of a node in a family. */
  nodeIP(node: number, family: Family): Addr | undefined {
    return family === 4 ? this.nodeIP4[node] : this.nodeIP6[node];
  }
}

export function compileServices(cluster: ClusterDoc, fabric: Fabric): ServiceTable | undefined {
  if ((cluster.services ?? []).length === 0 && (cluster.serviceCIDRs ?? []).length === 0) return undefined;
  return new ServiceTable(proxyConfig(cluster.kubeProxy), cluster, fabric);
}
