// The fabric: what the kernels of a cluster hold, compiled for tracing. Namespaces own links; links carry addresses and
// are wired together (veth pairs, bridge ports, segments); each namespace has a FIB per family. Everything a trace walks
// is referenced by number, so the walk indexes typed arrays instead of following objects or looking up names.
import type { Addr, Family } from './addr.js';
import type { IfAddr } from './ifaddr.js';
import type { Prefix } from './prefix.js';
import { Fibs, type Fib, type RouteTable } from './fib.js';
import type { Route } from './route.js';
import { Owners } from './owners.js';
import { L2, RECORD } from './l2.js';
import { Tunnels } from './tunnels.js';
import type { PolicySet } from './policy/policies.js';
import type { Masquerade } from './compile/masquerade.js';

export type NetnsKind = 'pod' | 'node' | 'router' | 'host';
/** `external` is a host outside the model that owns an address on a segment (an upstream router, say). */
export type LinkKind = 'veth' | 'bridge' | 'physical' | 'vxlan' | 'geneve' | 'ipip' | 'dummy' | 'external';

/** Linux's default MTU of an Ethernet-like link. */
export const DEFAULT_MTU = 1500;

/**
 * What a tunnel link (vxlan, geneve, ipip) encapsulates with. A VXLAN link finds the remote endpoint through its netns's
 * neighbours and FDB; an external-mode link (Cilium's) through its ipcache; IP-in-IP (Calico's tunl0) sends to the
 * route's gateway.
 */
export interface Tunnel {
  /** The VXLAN or Geneve network identifier; 0 for IP-in-IP. */
  readonly vni: number;
  /** The outer UDP destination port; 0 for IP-in-IP (IP protocol 4). */
  readonly port: number;
  /** The outer source address, when the link names one. */
  readonly local: Addr | undefined;
  /** The link the outer packet leaves by (its index in the netns), or -1 for wherever the outer route says. */
  readonly underlay: number;
  /** Cilium's ipcache on an external-mode link: which tunnel endpoint serves each prefix. */
  readonly ipcache: readonly IpcacheEntry[];
}

export interface IpcacheEntry {
  readonly prefix: Prefix;
  readonly tunnelEndpoint: Addr;
}

/** A permanent neighbour (`ip neigh add <dst> lladdr <mac> dev <link> nud permanent`). */
export interface Neighbour {
  readonly dst: Addr;
  readonly lladdr: string;
  /** The link's index in its netns. */
  readonly dev: number;
}

/** A VXLAN forwarding entry (`bridge fdb append <mac> dev <link> dst <remote>`). */
export interface FdbEntry {
  readonly mac: string;
  readonly dev: number;
  readonly dst: Addr;
}

export interface LinkOptions {
  readonly proxyNdp?: readonly Addr[];
  readonly mtu?: number;
  readonly mac?: string;
  readonly tunnel?: Tunnel;
}

export interface Link {
  readonly id: number;
  /** The netns's id, or -1 for an external host. */
  readonly netns: number;
  /** Position in its netns's `links`: what routes name as their device. */
  readonly index: number;
  readonly name: string;
  readonly kind: LinkKind;
  /** Administratively up (`ip link set up`). */
  readonly up: boolean;
  readonly addrs: readonly IfAddr[];
  readonly proxyArp: boolean;
  /** Addresses the link answers Neighbour Solicitations for (`ip -6 neigh add proxy <addr> dev <link>`, proxy_ndp on). */
  readonly proxyNdp: readonly Addr[];
  readonly mtu: number;
  /** The MAC address, where the document gives one (tunnels resolve their neighbours to it). */
  readonly mac: string | undefined;
  readonly tunnel: Tunnel | undefined;
  /** The other end of a veth pair, or -1. */
  peer: number;
  /** The bridge this link is a port of, or -1. */
  master: number;
  /** The segment a physical link is plugged into, or -1. */
  segment: number;
}

export interface Netns {
  readonly id: number;
  readonly name: string;
  readonly kind: NetnsKind;
  /** For a pod: the node it runs on. */
  readonly node: string | undefined;
  readonly forwarding: boolean;
  readonly links: Link[];
  fib4: Fib;
  fib6: Fib;
  /** Routes the document gives that the kernel would refuse or drop, with the reason (shown with traces). */
  readonly ignored: string[];
  neigh: readonly Neighbour[];
  fdb: readonly FdbEntry[];
  /** fib_multipath_hash_policy (both families); absent is 0. */
  multipathHashPolicy?: 0 | 1;
  /** fib_multipath_hash_seed; absent when the kernel keys the hash with its per-boot secret. */
  multipathHashSeed?: number;
}

export interface Segment {
  readonly id: number;
  readonly name: string;
  readonly cidr: Prefix | undefined;
}

/**
 * Ints per netns in `nsFacts`: own and shared table per family, flags (forwarding, a node), the range of its links in
 * `nsLinks`, and the id of its first link (a pod's only link, a node's eth0), so that a route out of it reads no other
 * array.
 */
const NETNS = 8;
const NS_FLAGS = 4;
const NS_FORWARDING = 1;
/** A node's netns: where kube-proxy's rules may be (a walk asks in every netns it enters, before its route lookup). */
const NS_NODE = 2;
const NS_LINKS = 5;
const NS_LINKS_END = 6;
const NS_FIRST_LINK = 7;
/** A link's facts, first in its record (see L2's RECORD): netns (-1 outside), bridge (-1 none), index, flags. */
const LINK_NETNS = 0;
const LINK_MASTER = 1;
const LINK_INDEX = 2;
const LINK_FLAGS = 3;
const UP = 1;
const CARRIER = 2;
/** How a tunnel link finds the far end (see Fabric.tunnelMode); 0 for a link that is no tunnel. */
export const TUNNEL_FDB = 4;
export const TUNNEL_IPCACHE = 8;
export const TUNNEL_IPIP = 16;
const TUNNEL = TUNNEL_FDB | TUNNEL_IPCACHE | TUNNEL_IPIP;
/**
 * The link has permanent neighbour entries to its peer (see `permanent`), or answers ARP by proxy: flags in the record
 * the walk has read already, so that the common link (neither) costs no read of another array.
 */
const HAS_PERMANENT = 32;
const PROXY_ARP = 64;

export class Fabric {
  readonly byName: ReadonlyMap<string, Netns>;
  readonly owners: Owners;
  readonly l2: L2;
  readonly fibs: Fibs;
  readonly tunnels: Tunnels;
  /** The cluster's NetworkPolicies, compiled; undefined where it has none (a fabric document, a cluster without). */
  policies: PolicySet | undefined = undefined;
  /** The data path's egress masquerade (flannel's --ip-masq, Calico's natOutgoing…); undefined where nothing masquerades. */
  masquerade: Masquerade | undefined = undefined;
  /**
   * What the tracer reads, as one record per netns and per link: at 150,000 pods the Netns, Fib and Link objects are
   * spread over hundreds of megabytes, and each object read is a cache miss; a record is one cache line.
   */
  private readonly nsFacts: Int32Array;
  /** The link ids of every netns, in its links order (external links have none, so the tail is unused). */
  private readonly nsLinks: Int32Array;
  /** Per link, then per segment, RECORD ints: the link's facts, then its place in L2's spanning trees. */
  private readonly records: Int32Array;
  /**
   * Per veth, its netns's neighbour entries on it whose lladdr is the MAC of the veth's peer (the AWS VPC CNI's
   * permanent 169.254.1.1 in every pod, or an entry a dump holds): the peer receives the frame without ARP.
   */
  private readonly permanent: ({ readonly dst: Addr; readonly link: number }[] | undefined)[];

  constructor(
    readonly netns: readonly Netns[],
    readonly links: readonly Link[],
    readonly segments: readonly Segment[],
  ) {
    // Loops rather than map/flatMap over [a, b] pairs: at 150,000 pods those small arrays were a good part of the
    // compile's garbage.
    const byName = (this.byName = new Map<string, Netns>());
    for (const n of netns) byName.set(n.name, n);
    this.owners = new Owners(links);
    const records = (this.records = new Int32Array((links.length + segments.length) * RECORD));
    this.l2 = new L2(links, segments.length, records);
    this.tunnels = new Tunnels(netns, links);
    // The tables that one netns alone uses, with its link ids: their routes name their links directly.
    const users = new Map<RouteTable, Netns | null>();
    const use = (t: RouteTable | undefined, n: Netns) => {
      if (t !== undefined) users.set(t, users.has(t) && users.get(t) !== n ? null : n);
    };
    const fibs: Fib[] = [];
    for (const n of netns) {
      use(n.fib4.own, n);
      use(n.fib4.shared, n);
      use(n.fib6.own, n);
      use(n.fib6.shared, n);
      fibs.push(n.fib4, n.fib6);
    }
    this.fibs = new Fibs(
      fibs,
      (a) => this.owners.first(a),
      (t) => users.get(t)?.links.map((l) => l.id),
    );

    // Indexed inner loops here and below: a for-of over each netns's short arrays allocated an iterator per netns and
    // per step (about 60 MB of garbage at 150,000 pods, collected while the compile runs).
    this.permanent = new Array(links.length);
    for (const ns of netns) {
      for (let i = 0; i < ns.neigh.length; i++) {
        const n = ns.neigh[i]!;
        const link = ns.links[n.dev];
        const peer = link === undefined || link.peer < 0 ? undefined : links[link.peer]!;
        if (peer?.mac === undefined || peer.mac.toLowerCase() !== n.lladdr.toLowerCase()) continue;
        (this.permanent[link!.id] ??= []).push({ dst: n.dst, link: peer.id });
      }
    }

    const nsFacts = (this.nsFacts = new Int32Array(netns.length * NETNS));
    this.nsLinks = new Int32Array(links.length);
    let next = 0;
    for (const ns of netns) {
      const f = ns.id * NETNS;
      nsFacts[f] = this.fibs.table(ns.fib4.own);
      nsFacts[f + 1] = this.fibs.table(ns.fib4.shared);
      nsFacts[f + 2] = this.fibs.table(ns.fib6.own);
      nsFacts[f + 3] = this.fibs.table(ns.fib6.shared);
      nsFacts[f + NS_FLAGS] = (ns.forwarding ? NS_FORWARDING : 0) | (ns.kind === 'node' ? NS_NODE : 0);
      nsFacts[f + NS_LINKS] = next;
      for (let i = 0; i < ns.links.length; i++) this.nsLinks[next++] = ns.links[i]!.id;
      nsFacts[f + NS_LINKS_END] = next;
      nsFacts[f + NS_FIRST_LINK] = ns.links.length > 0 ? ns.links[0]!.id : -1;
    }

    // A veth has carrier when both ends are up; a bridge when it is up and at least one port has carrier (the kernel
    // turns a bridge's carrier off when no port is forwarding, which is why an empty docker0 shows NO-CARRIER).
    const carrier = new Uint8Array(links.length);
    for (const l of links) {
      if (l.kind !== 'bridge') carrier[l.id] = l.up && (l.peer < 0 || links[l.peer]!.up) ? 1 : 0;
    }
    for (const l of links) {
      if (l.master >= 0 && carrier[l.id] === 1 && links[l.master]!.up) carrier[l.master] = 1;
    }
    for (const l of links) {
      const f = l.id * RECORD;
      records[f + LINK_NETNS] = l.netns;
      records[f + LINK_MASTER] = l.master;
      records[f + LINK_INDEX] = l.index;
      const tunnel =
        l.tunnel === undefined ? 0 : l.kind === 'ipip' ? TUNNEL_IPIP : this.tunnels.hasIpcache(l.id) ? TUNNEL_IPCACHE : TUNNEL_FDB;
      records[f + LINK_FLAGS] =
        (l.up ? UP : 0) |
        (carrier[l.id] ? CARRIER : 0) |
        tunnel |
        (this.permanent[l.id] !== undefined ? HAS_PERMANENT : 0) |
        (l.proxyArp ? PROXY_ARP : 0);
    }
  }

  /** The link a neighbour entry for `a` on veth `link` sends to (its peer), or -1. */
  permanentNeighbour(link: number, a: Addr): number {
    if ((this.records[link * RECORD + LINK_FLAGS]! & HAS_PERMANENT) === 0) return -1;
    const entries = this.permanent[link];
    if (entries === undefined) return -1;
    for (const e of entries) if (e.dst.equals(a)) return e.link;
    return -1;
  }

  /** Whether the netns forwards packets that are not addressed to it. */
  forwards(ns: number): boolean {
    return (this.nsFacts[ns * NETNS + NS_FLAGS]! & NS_FORWARDING) !== 0;
  }

  /** Whether the netns is a node's. */
  isNode(ns: number): boolean {
    return (this.nsFacts[ns * NETNS + NS_FLAGS]! & NS_NODE) !== 0;
  }

  /** The route group the netns's FIB selects for the address w0..w3 of `family`, or -1 (see Fibs). */
  route(ns: number, family: Family, w0: number, w1: number, w2: number, w3: number): number {
    const f = ns * NETNS + (family === 4 ? 0 : 2);
    return this.fibs.lookup(this.nsFacts[f]!, this.nsFacts[f + 1]!, family, w0, w1, w2, w3);
  }

  /** Every route of the netns's FIB that contains a, in the kernel's order of preference (see Fibs.candidates). */
  candidates(ns: number, a: Addr): Route[] {
    const f = ns * NETNS + (a.family === 4 ? 0 : 2);
    return this.fibs.candidates(this.nsFacts[f]!, this.nsFacts[f + 1]!, a);
  }

  /** The id of the netns's link at `index` (what routes name as their device). */
  linkAt(ns: number, index: number): number {
    const f = ns * NETNS;
    return index === 0 ? this.nsFacts[f + NS_FIRST_LINK]! : this.nsLinks[this.nsFacts[f + NS_LINKS]! + index]!;
  }

  /** How many links the netns has. */
  linkCount(ns: number): number {
    return this.nsFacts[ns * NETNS + NS_LINKS_END]! - this.nsFacts[ns * NETNS + NS_LINKS]!;
  }

  /** The netns of a link, or -1 for an external host. */
  netnsOf(link: number): number {
    return this.records[link * RECORD + LINK_NETNS]!;
  }

  /** The bridge a link is a port of, or -1. */
  masterOf(link: number): number {
    return this.records[link * RECORD + LINK_MASTER]!;
  }

  /** The link's position in its netns's links. */
  indexOf(link: number): number {
    return this.records[link * RECORD + LINK_INDEX]!;
  }

  /** Whether the link answers ARP by proxy (proxy_arp): as Link.proxyArp, from the record. */
  proxyArp(link: number): boolean {
    return (this.records[link * RECORD + LINK_FLAGS]! & PROXY_ARP) !== 0;
  }

  /** Administratively up. */
  isUp(link: number): boolean {
    return (this.records[link * RECORD + LINK_FLAGS]! & UP) !== 0;
  }

  /** Whether frames can leave through the link: it is up, a veth's peer is up, a bridge has a port with carrier. */
  carrier(link: Link): boolean {
    return this.hasCarrier(link.id);
  }

  /** TUNNEL_FDB, TUNNEL_IPCACHE or TUNNEL_IPIP for a tunnel link, else 0. */
  tunnelMode(link: number): number {
    return this.records[link * RECORD + LINK_FLAGS]! & TUNNEL;
  }

  /** carrier() by link id. */
  hasCarrier(link: number): boolean {
    return (this.records[link * RECORD + LINK_FLAGS]! & CARRIER) !== 0;
  }
}

/** Assembles a Fabric; the compilers (fabric documents, cluster data paths) drive it. */
export class FabricBuilder {
  private readonly netns: Netns[] = [];
  private readonly links: Link[] = [];
  private readonly segments: Segment[] = [];
  private readonly segmentIds = new Map<string, number>();

  addNetns(name: string, kind: NetnsKind, node: string | undefined, forwarding: boolean, fib4: Fib, fib6: Fib): Netns {
    const ns: Netns = { id: this.netns.length, name, kind, node, forwarding, links: [], fib4, fib6, ignored: [], neigh: [], fdb: [] };
    this.netns.push(ns);
    return ns;
  }

  addLink(
    ns: Netns | undefined,
    name: string,
    kind: LinkKind,
    up: boolean,
    addrs: readonly IfAddr[],
    proxyArp = false,
    options: LinkOptions = {},
  ): Link {
    const link: Link = {
      id: this.links.length,
      netns: ns ? ns.id : -1,
      index: ns ? ns.links.length : 0,
      name,
      kind,
      up,
      addrs,
      proxyArp,
      proxyNdp: options.proxyNdp ?? [],
      mtu: options.mtu ?? DEFAULT_MTU,
      mac: options.mac,
      tunnel: options.tunnel,
      peer: -1,
      master: -1,
      segment: -1,
    };
    this.links.push(link);
    ns?.links.push(link);
    return link;
  }

  pair(a: Link, b: Link) {
    a.peer = b.id;
    b.peer = a.id;
  }

  enslave(port: Link, bridge: Link) {
    port.master = bridge.id;
  }

  segment(name: string, cidr?: Prefix): Segment {
    const id = this.segmentIds.get(name);
    if (id !== undefined) return this.segments[id]!;
    const s: Segment = { id: this.segments.length, name, cidr };
    this.segmentIds.set(name, s.id);
    this.segments.push(s);
    return s;
  }

  plug(link: Link, segment: Segment) {
    link.segment = segment.id;
  }

  build(): Fabric {
    return new Fabric(this.netns, this.links, this.segments);
  }
}
