// The fabric: what the kernels of a cluster hold, compiled for tracing. Namespaces own links; links carry addresses and
// are wired together (veth pairs, bridge ports, segments); each namespace has a FIB per family. Everything a trace walks
// is referenced by number, so the walk indexes arrays instead of looking up names.
import type { Addr } from './addr.js';
import type { IfAddr } from './ifaddr.js';
import type { Prefix } from './prefix.js';
import type { Fib } from './fib.js';
import { Owners } from './owners.js';
import { L2 } from './l2.js';

export type NetnsKind = 'pod' | 'node' | 'router' | 'host';
/** `external` is a host outside the model that owns an address on a segment (an upstream router, say). */
export type LinkKind = 'veth' | 'bridge' | 'physical' | 'vxlan' | 'dummy' | 'external';

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
}

export interface Segment {
  readonly id: number;
  readonly name: string;
  readonly cidr: Prefix | undefined;
}

export class Fabric {
  readonly byName: ReadonlyMap<string, Netns>;
  readonly owners: Owners;
  readonly l2: L2;
  /** Per link: 1 when it has carrier. Computed once, since a bridge's carrier depends on all of its ports. */
  private readonly carriers: Uint8Array;
  /**
   * Per link id: its netns (-1 outside), its bridge (-1 none), 1 when up. The tracer reads these instead of the Link
   * objects: at 150,000 pods the objects are spread over hundreds of megabytes, and each one read is a cache miss.
   */
  readonly linkNetns: Int32Array;
  readonly linkMaster: Int32Array;
  readonly linkUp: Uint8Array;

  constructor(
    readonly netns: readonly Netns[],
    readonly links: readonly Link[],
    readonly segments: readonly Segment[],
  ) {
    this.byName = new Map(netns.map((n) => [n.name, n]));
    this.owners = new Owners(links);
    this.l2 = new L2(links, segments.length);
    this.linkNetns = Int32Array.from(links, (l) => l.netns);
    this.linkMaster = Int32Array.from(links, (l) => l.master);
    this.linkUp = Uint8Array.from(links, (l) => (l.up ? 1 : 0));
    // A veth has carrier when both ends are up; a bridge when it is up and at least one port has carrier (the kernel
    // turns a bridge's carrier off when no port is forwarding, which is why an empty docker0 shows NO-CARRIER).
    this.carriers = new Uint8Array(links.length);
    for (const l of links) {
      if (l.kind !== 'bridge') this.carriers[l.id] = l.up && (l.peer < 0 || links[l.peer]!.up) ? 1 : 0;
    }
    for (const l of links) {
      if (l.master >= 0 && this.carriers[l.id] === 1 && links[l.master]!.up) this.carriers[l.master] = 1;
    }
  }

  /** Whether frames can leave through the link: it is up, a veth's peer is up, a bridge has a port with carrier. */
  carrier(link: Link): boolean {
    return this.carriers[link.id] === 1;
  }

  /**
   * The netns's link that holds a, or undefined: a packet to a is delivered locally. The link need not be up: the kernel
   * adds the local route of an address whether or not its link is up and keeps it when the link goes down.
   */
  localLink(ns: Netns, a: Addr): Link | undefined {
    const owners = this.owners;
    for (let o = owners.first(a); o >= 0; o = owners.next(o)) {
      const id = owners.link(o);
      if (this.linkNetns[id] === ns.id) return this.links[id];
    }
    return undefined;
  }
}

/** Assembles a Fabric; the compilers (fabric documents, cluster data paths) drive it. */
export class FabricBuilder {
  private readonly netns: Netns[] = [];
  private readonly links: Link[] = [];
  private readonly segments: Segment[] = [];
  private readonly segmentIds = new Map<string, number>();

  addNetns(name: string, kind: NetnsKind, node: string | undefined, forwarding: boolean, fib4: Fib, fib6: Fib): Netns {
    const ns: Netns = { id: this.netns.length, name, kind, node, forwarding, links: [], fib4, fib6, ignored: [] };
    this.netns.push(ns);
    return ns;
  }

  addLink(ns: Netns | undefined, name: string, kind: LinkKind, up: boolean, addrs: readonly IfAddr[], proxyArp = false): Link {
    const link: Link = {
      id: this.links.length,
      netns: ns ? ns.id : -1,
      index: ns ? ns.links.length : 0,
      name,
      kind,
      up,
      addrs,
      proxyArp,
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
