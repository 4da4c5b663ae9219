// The forwarding information base of one netns: routes grouped by destination prefix, found by longest prefix match, then
// the lowest metric. A Fib can layer a table of its own over a table shared with other namespaces: a cluster's nodes all
// hold "every other node's pod CIDR via that node", so one shared table of N routes serves N nodes instead of N² rows,
// and each node's own table (its connected routes) shadows the shared entry for the same prefix.
//
// Tables hold Route objects, for rendering. What the tracer reads is Fibs: every table of a fabric numbered, and the
// facts a forwarding decision needs (prefix length, type, next hops) in flat typed arrays, so that a lookup at 150,000
// namespaces reads a few dense arrays instead of chasing Fib → RouteTable → Route → NextHop → Addr across the heap.
import type { Addr, Family } from './addr.js';
import { Lpm, type LpmSet } from './lpm.js';
import type { NextHop, Route, RouteType } from './route.js';

/** The routes of one table that share a destination prefix, lowest metric first (the kernel's order of preference). */
export type RouteGroup = readonly Route[];

export class RouteTable {
  readonly groups: readonly RouteGroup[];
  /** Maps an address to the index of the group with the longest prefix that contains it. */
  readonly lpm: Lpm;

  constructor(
    readonly family: Family,
    routes: readonly Route[],
  ) {
    const byPrefix = new Map<string, Route[]>();
    for (const r of routes) {
      const key = r.prefix.toString();
      const group = byPrefix.get(key);
      if (group) group.push(r);
      else byPrefix.set(key, [r]);
    }
    // A stable sort: among equal metrics the route added first wins, as with `ip route append`.
    this.groups = [...byPrefix.values()].map((g) => g.sort((a, b) => a.metric - b.metric));
    this.lpm = new Lpm(family, this.groups.map((g, value) => ({ prefix: g[0]!.prefix, value })));
  }
}

export class Fib {
  constructor(
    readonly own: RouteTable,
    readonly shared?: RouteTable,
  ) {}
}

/** Route types as Fibs holds them. */
export const UNICAST = 0;
export const BLACKHOLE = 1;
const TYPE_CODES: Record<RouteType, number> = { unicast: UNICAST, blackhole: BLACKHOLE, unreachable: 2, prohibit: 3 };

/**
 * Ints per route group in Fibs.facts: prefix length, type, number of next hops, where its second next hop is (ECMP),
 * then its first next hop: 32 bytes, so that a lookup's answer and its next hop are one cache line.
 */
const GROUP = 8;
const FIRST_NEXTHOP = 4;
/**
 * Ints per next hop: device index, the gateway's number in `gateways` (-1 for none), the gateway's first owner entry
 * (see Owners; -1 for none), and the device's link id when only one netns uses the table (-1 otherwise). The owner never
 * changes, so resolving a next hop needs no lookup; nor does the device of a netns's own route (a node's route to each
 * of its pods), where the netns's list of links would be one more cache miss. The first next hop of a group is inside
 * the group; the others of an ECMP route follow all groups.
 */
const NEXTHOP = 4;
const LINK = 3;

const NO_GROUPS: readonly number[] = Object.freeze([]);

/**
 * Every routing table of a fabric, numbered, with the facts a forwarding decision reads in one flat array: per route
 * group its preferred route's prefix length, type and next hops. Group numbers and next-hop numbers (offsets into the
 * array) are global, so a trace records them as plain integers; the Route objects stay for rendering.
 */
export class Fibs {
  private readonly ids = new Map<RouteTable, number>();
  private readonly tables: RouteTable[] = [];
  /** Every table's prefixes, packed: one dense array rather than an Lpm object per table (see LpmSet). */
  private readonly lpms: LpmSet;
  /** Per table: the number of its first group. */
  private readonly firstGroup: Int32Array;
  private readonly facts: Int32Array;
  /**
   * Per group, its prefix length, as in facts but dense: choosing between a netns's own match and the shared table's
   * then reads neither group's record, where the losing one (often the default route) would be a cache miss of its own.
   */
  private readonly bits: Uint8Array;
  /** Per group: its routes and the one the kernel prefers; the gateways of next hops (all read off the hot path). */
  private readonly groups: RouteGroup[] = [];
  private readonly preferred: Route[] = [];
  private readonly gateways: Addr[] = [];
  /** Per gateway, its words: a tunnel routes to a gateway's address without reading the Addr. */
  private readonly gatewayWords: Int32Array;
  /** Per group, its table (read off the hot path). */
  private readonly tableOf: Int32Array;
  /** Per group, once an explanation asked: see covering(). */
  private readonly covers: (readonly number[] | undefined)[];

  /**
   * `ownerOf` gives the first owner entry of an address (Owners.first); `linksOf` the link ids by device index of the
   * one netns whose FIBs use a table, or undefined when several do.
   */
  constructor(fibs: Iterable<Fib>, ownerOf: (a: Addr) => number, linksOf: (t: RouteTable) => readonly number[] | undefined = () => undefined) {
    for (const fib of fibs) {
      for (const t of [fib.own, fib.shared]) {
        if (t === undefined || this.ids.has(t)) continue;
        this.ids.set(t, this.tables.length);
        this.tables.push(t);
      }
    }
    this.lpms = Lpm.pack(this.tables.map((t) => t.lpm));
    this.firstGroup = new Int32Array(this.tables.length);
    let extra = 0;
    for (const [id, t] of this.tables.entries()) {
      this.firstGroup[id] = this.groups.length;
      for (const g of t.groups) {
        this.groups.push(g);
        this.preferred.push(g[0]!);
        extra += g[0]!.nexthops.length > 1 ? g[0]!.nexthops.length - 1 : 0;
      }
    }
    this.covers = new Array<undefined>(this.groups.length).fill(undefined);
    this.facts = new Int32Array(this.groups.length * GROUP + extra * NEXTHOP);
    this.tableOf = new Int32Array(this.groups.length);
    this.bits = Uint8Array.from(this.preferred, (r) => r.prefix.bits);
    let overflow = this.groups.length * GROUP;
    for (const [id, t] of this.tables.entries()) {
      const links = linksOf(t);
      for (let group = this.firstGroup[id]!; group < this.firstGroup[id]! + t.groups.length; group++) {
        const r = this.preferred[group]!;
        const at = group * GROUP;
        this.facts[at] = r.prefix.bits;
        this.facts[at + 1] = TYPE_CODES[r.type];
        this.facts[at + 2] = r.nexthops.length;
        this.facts[at + 3] = overflow;
        this.tableOf[group] = id;
        for (let k = 0; k < r.nexthops.length; k++) {
          this.putNexthop(k === 0 ? at + FIRST_NEXTHOP : overflow, r.nexthops[k]!, ownerOf, links);
          if (k > 0) overflow += NEXTHOP;
        }
      }
    }
    this.gatewayWords = new Int32Array(4 * this.gateways.length);
    for (const [i, g] of this.gateways.entries()) this.gatewayWords.set([g.w0, g.w1, g.w2, g.w3], 4 * i);
  }

  private putNexthop(at: number, nh: NextHop, ownerOf: (a: Addr) => number, links: readonly number[] | undefined): void {
    const g = nh.gateway;
    this.facts[at] = nh.dev;
    this.facts[at + 1] = g === undefined ? -1 : this.gateways.length;
    this.facts[at + 2] = g === undefined ? -1 : ownerOf(g);
    this.facts[at + LINK] = links?.[nh.dev] ?? -1;
    if (g !== undefined) this.gateways.push(g);
  }

  /** The number of a table, or -1 for none. */
  table(t: RouteTable | undefined): number {
    return t === undefined ? -1 : this.ids.get(t)!;
  }

  /**
   * The group the kernel selects for the address w0..w3 in a FIB of table `own` over table `shared` (-1 for none), or
   * -1 when no route matches. The longer prefix wins; on a tie the netns's own route shadows the shared one.
   */
  lookup(own: number, shared: number, family: Family, w0: number, w1: number, w2: number, w3: number): number {
    const i = this.find(own, family, w0, w1, w2, w3);
    const j = shared < 0 ? -1 : this.find(shared, family, w0, w1, w2, w3);
    if (j < 0) return i;
    return i >= 0 && this.bits[i]! >= this.bits[j]! ? i : j;
  }

  /** The group of one table with the longest prefix that contains the address w0..w3, or -1. */
  private find(table: number, family: Family, w0: number, w1: number, w2: number, w3: number): number {
    const local = family === 4 ? this.lpms.lookup4(table, w0) : this.lpms.lookup6(table, w0, w1, w2, w3);
    return local < 0 ? -1 : this.firstGroup[table]! + local;
  }

  /**
   * Every route of the FIB (tables `own` over `shared`) that contains a, in the kernel's order of preference: the first
   * is what lookup() selects. The prefixes that contain an address are nested, so they are the prefixes that contain
   * its longest match in each table; those are worked out once per group and kept.
   */
  candidates(own: number, shared: number, a: Addr): Route[] {
    const i = this.find(own, a.family, a.w0, a.w1, a.w2, a.w3);
    const j = shared < 0 ? -1 : this.find(shared, a.family, a.w0, a.w1, a.w2, a.w3);
    const mine = i < 0 ? NO_GROUPS : this.covering(i);
    const theirs = j < 0 ? NO_GROUPS : this.covering(j);
    const out: Route[] = [];
    // Both lists run from the longest prefix down; on an equal prefix the netns's own group shadows the shared one.
    for (let x = 0, y = 0; x < mine.length || y < theirs.length; ) {
      const mx = x < mine.length ? this.facts[mine[x]! * GROUP]! : -1;
      const ty = y < theirs.length ? this.facts[theirs[y]! * GROUP]! : -1;
      if (ty > mx) out.push(...this.groups[theirs[y++]!]!);
      else {
        if (ty === mx) y++;
        out.push(...this.groups[mine[x++]!]!);
      }
    }
    return out;
  }

  /** The groups of the group's table whose prefixes contain its prefix, longest first (itself included). */
  private covering(group: number): readonly number[] {
    let cover = this.covers[group];
    if (cover === undefined) {
      const table = this.tableOf[group]!;
      const { prefix } = this.preferred[group]!;
      const first = this.firstGroup[table]!;
      cover = this.tables[table]!.lpm.matches(prefix.addr).flatMap((e) => (e.prefix.bits <= prefix.bits ? [first + e.value] : []));
      this.covers[group] = cover;
    }
    return cover;
  }

  route(group: number): Route {
    return this.preferred[group]!;
  }

  /** The route type code (UNICAST, BLACKHOLE, …) of a group. */
  type(group: number): number {
    return this.facts[group * GROUP + 1]!;
  }

  /** How many next hops the group's route has: more than one is ECMP. */
  width(group: number): number {
    return this.facts[group * GROUP + 2]!;
  }

  /** The number of next hop `choice` (0 for the first) of the group's route. */
  nexthop(group: number, choice: number): number {
    return choice === 0 ? group * GROUP + FIRST_NEXTHOP : this.facts[group * GROUP + 3]! + (choice - 1) * NEXTHOP;
  }

  /** The next hop's egress device: an index into its netns's links. */
  dev(nh: number): number {
    return this.facts[nh]!;
  }

  /** The next hop's egress link id when the table is one netns's own (see NEXTHOP), or -1: then ask its netns. */
  link(nh: number): number {
    return this.facts[nh + LINK]!;
  }

  /** The first owner entry of the next hop's gateway (see Owners), or -1. */
  gatewayOwner(nh: number): number {
    return this.facts[nh + 2]!;
  }

  hasGateway(nh: number): boolean {
    return this.facts[nh + 1]! >= 0;
  }

  /** Word `w` (0-3) of the address of the next hop's gateway, which it must have. */
  gatewayWord(nh: number, w: number): number {
    return this.gatewayWords[4 * this.facts[nh + 1]! + w]! >>> 0;
  }

  gateway(nh: number): Addr | undefined {
    const g = this.facts[nh + 1]!;
    return g < 0 ? undefined : this.gateways[g];
  }
}
