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
}

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

const ADDRESS_BITS = 1 << 16;
const addressBit = (w0: number, w1: number, w2: number, w3: number) => (Math.imul(w0 ^ w1 ^ w2 ^ w3, 0x9e3779b1) >>> 16) & (ADDRESS_BITS - 1);

const nodePortKey = (family: number, proto: number, port: number) => (family === 6 ? 1 << 20 : 0) | (proto << 16) | port;

export class ServiceTable {
  readonly services: ServiceInfo[] = [];
  // Service ports.
  readonly spService: Int32Array;
  readonly spPortName: string[] = [];
  readonly spProto: Uint8Array;
  readonly spPort: Int32Array;
  readonly spNodePort: Int32Array;
  readonly spFamily: Uint8Array;
  readonly spFlags: Uint8Array;
  readonly spEpStart: Int32Array;
  readonly spEpEnd: Int32Array;
  readonly spRangeStart: Int32Array;
  readonly spRangeEnd: Int32Array;
  /**
   * kube-proxy's cluster chain of each Service port, worked out once: its ready endpoints, or when none is ready its
   * serving and terminating ones (clusterEps[spClusterStart .. spClusterEnd), in the slices' order); and how many
   * endpoints are ready and how many are that fallback.
   */
  readonly spClusterStart: Int32Array;
  readonly spClusterEnd: Int32Array;
  readonly spReady: Int32Array;
  readonly spFallback: Int32Array;
  readonly clusterEps: Int32Array;
  /**
   * Each Service port's endpoints ordered by node (epNode), in the slices' order within a node, in the port's range
   * spEpStart .. spEpEnd: a node's local endpoints are found by binary search, not by reading them all.
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
  /**
   * What the walk reads of the endpoint it DNATs to, side by side (EP_WALK ints each, so one cache line): its address's
   * four words (as int32: read them with >>> 0), its port and its first owner. The Addr objects are spread over the
   * heap, a cache miss each.
   */
  readonly epWalk: Int32Array;
  readonly ranges: PrefixList;
  // Frontends, hashed.
  private readonly feWords: Uint32Array;
  private readonly feFamily: Uint8Array;
  private readonly feProto: Uint8Array;
  private readonly fePort: Int32Array;
  readonly feSp: Int32Array;
  readonly feKind: Uint8Array;
  private readonly feNext: Int32Array;
  private readonly buckets: Int32Array;
  /**
   * A bit per hash of a frontend's address alone (ADDRESS_BITS of them, 8 KB, which stays in cache): most packets a
   * node's rules see are to no Service (pod to pod), and the clear bit answers without the buckets, a cache miss.
   */
  private readonly feAddrBits = new Int32Array(ADDRESS_BITS >>> 5);
  private readonly nodePorts = new Map<number, number>();
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

  constructor(
    readonly config: ProxyConfig,
    cluster: ClusterDoc,
    fabric: Fabric,
  ) {
    const nodeIndex = new Map<string, number>();
    this.nodeOfNetns = new Int32Array(fabric.netns.length).fill(-1);
    const cidrs: Prefix[] = [];
    this.podCIDRStart = new Int32Array(cluster.nodes.length + 1);
    cluster.nodes.forEach((node, i) => {
      nodeIndex.set(node.name, i);
      this.nodeNames.push(node.name);
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
      this.services.push({ namespace, name: svc.metadata.name, type, clusterIPs, loadBalancerIPs: lbIPs });
      if (type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && spec.healthCheckNodePort !== undefined) {
        this.healthCheckNodePorts.set(spec.healthCheckNodePort, service);
      }
      // A headless Service has no ClusterIP and kube-proxy programs nothing for it.
      if (clusterIPs.length === 0) continue;
      const ranges = (spec.loadBalancerSourceRanges ?? []).map(sloppyPrefix);
      for (const clusterIP of clusterIPs) {
        const family = clusterIP.family;
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
          for (const a of famExt) frontends.push({ addr: a, proto, port: p.port, sp, kind: EXTERNAL_IP });
          for (const a of famLb) frontends.push({ addr: a, proto, port: p.port, sp, kind: LOAD_BALANCER });
          if (nodePort > 0) this.nodePorts.set(nodePortKey(family, proto, nodePort), sp);
        }
      }
    }

    const n = ports.length;
    this.spService = new Int32Array(n);
    this.spProto = new Uint8Array(n);
    this.spPort = new Int32Array(n);
    this.spNodePort = new Int32Array(n);
    this.spFamily = new Uint8Array(n);
    this.spFlags = new Uint8Array(n);
    this.spEpStart = new Int32Array(n);
    this.spEpEnd = new Int32Array(n);
    this.spRangeStart = new Int32Array(n);
    this.spRangeEnd = new Int32Array(n);
    this.spClusterStart = new Int32Array(n);
    this.spClusterEnd = new Int32Array(n);
    this.spReady = new Int32Array(n);
    this.spFallback = new Int32Array(n);
    const allRanges: Prefix[] = [];
    const eps: EndpointFacts[] = [];
    ports.forEach((p, i) => {
      this.spService[i] = p.service;
      this.spPortName.push(p.name);
      this.spProto[i] = p.proto;
      this.spPort[i] = p.port;
      this.spNodePort[i] = p.nodePort;
      this.spFamily[i] = p.family;
      this.spFlags[i] = p.flags;
      this.spEpStart[i] = eps.length;
      eps.push(...p.eps);
      this.spEpEnd[i] = eps.length;
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
      const start = this.spEpStart[sp]!;
      const end = this.spEpEnd[sp]!;
      const ready: number[] = [];
      const fallback: number[] = [];
      for (let e = start; e < end; e++) {
        const flags = this.epFlags[e]!;
        if (flags & READY) ready.push(e);
        else if (flags & SERVING && flags & TERMINATING) fallback.push(e);
      }
      this.spReady[sp] = ready.length;
      this.spFallback[sp] = fallback.length;
      this.spClusterStart[sp] = chains.length;
      for (const e of ready.length > 0 ? ready : fallback) chains.push(e);
      this.spClusterEnd[sp] = chains.length;
      const order = Array.from({ length: end - start }, (_, i) => start + i).sort((a, b) => this.epNode[a]! - this.epNode[b]! || a - b);
      this.byNode.set(order, start);
    }
    this.clusterEps = Int32Array.from(chains);

    const f = frontends.length;
    let size = 16;
    while (size < 2 * f) size *= 2;
    this.buckets = new Int32Array(size).fill(-1);
    this.feWords = new Uint32Array(4 * f);
    this.feFamily = new Uint8Array(f);
    this.feProto = new Uint8Array(f);
    this.fePort = new Int32Array(f);
    this.feSp = new Int32Array(f);
    this.feKind = new Uint8Array(f);
    this.feNext = new Int32Array(f);
    frontends.forEach((fe, i) => {
      const a = fe.addr;
      for (let w = 0; w < 4; w++) this.feWords[4 * i + w] = a.word(w);
      this.feFamily[i] = a.family;
      this.feProto[i] = fe.proto;
      this.fePort[i] = fe.port;
      this.feSp[i] = fe.sp;
      this.feKind[i] = fe.kind;
      const bit = addressBit(a.w0, a.w1, a.w2, a.w3);
      this.feAddrBits[bit >>> 5]! |= 1 << (bit & 31);
      const b = hashOf(a.family, a.w0, a.w1, a.w2, a.w3, fe.proto, fe.port) & (size - 1);
      // The first frontend of an address wins, as kube-proxy's first matching rule does.
      let last = this.buckets[b]!;
      if (last < 0) this.buckets[b] = i;
      else {
        while (this.feNext[last]! >= 0) last = this.feNext[last]!;
        this.feNext[last] = i;
      }
      this.feNext[i] = -1;
    });
  }

  get size(): number {
    return this.spProto.length;
  }

  /** The frontend (ClusterIP, externalIP, LB IP) with this address, protocol and port, or -1. */
  frontend(family: Family, w0: number, w1: number, w2: number, w3: number, proto: number, port: number): number {
    const bit = addressBit(w0, w1, w2, w3);
    if ((this.feAddrBits[bit >>> 5]! & (1 << (bit & 31))) === 0) return -1;
    let i = this.buckets[hashOf(family, w0, w1, w2, w3, proto, port) & (this.buckets.length - 1)]!;
    for (; i >= 0; i = this.feNext[i]!) {
      const b = 4 * i;
      if (
        this.fePort[i] === port &&
        this.feProto[i] === proto &&
        this.feFamily[i] === family &&
        this.feWords[b] === w0 &&
        this.feWords[b + 1] === w1 &&
        this.feWords[b + 2] === w2 &&
        this.feWords[b + 3] === w3
      ) {
        return i;
      }
    }
    return -1;
  }

  /** The Service port of a NodePort, or -1. */
  nodePort(family: Family, proto: number, port: number): number {
    return this.nodePorts.get(nodePortKey(family, proto, port)) ?? -1;
  }

  /** The Services holding this address (any port): for saying why a packet to a Service address was not translated. */
  servicesAt(addr: Addr): number[] {
    const found = new Set<number>();
    for (let i = 0; i < this.feSp.length; i++) {
      const b = 4 * i;
      if (this.feFamily[i] === addr.family && this.feWords[b] === addr.w0 && this.feWords[b + 1] === addr.w1 && this.feWords[b + 2] === addr.w2 && this.feWords[b + 3] === addr.w3) {
        found.add(this.spService[this.feSp[i]!]!);
      }
    }
    return [...found];
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
