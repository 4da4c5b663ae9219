// The forwarding information base of one netns: routes grouped by destination prefix, found by longest prefix match, then
// the lowest metric. A Fib can layer a table of its own over a table shared with other namespaces: a cluster's nodes all
// hold "every other node's pod CIDR via that node", so one shared table of N routes serves N nodes instead of N² rows,
// and each node's own table (its connected routes) shadows the shared entry for the same prefix.
import type { Addr, Family } from './addr.js';
import { Lpm } from './lpm.js';
import type { Route } from './route.js';

/** The routes of one table that share a destination prefix, lowest metric first (the kernel's order of preference). */
export type RouteGroup = readonly Route[];

export class RouteTable {
  readonly groups: readonly RouteGroup[];
  /** Per group: the route the kernel prefers and its prefix length, so a lookup reads no other route or prefix. */
  readonly best: readonly Route[];
  readonly bits: Uint8Array;
  private readonly lpm: Lpm;

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
    this.best = this.groups.map((g) => g[0]!);
    this.bits = Uint8Array.from(this.best, (r) => r.prefix.bits);
    this.lpm = new Lpm(family, this.groups.map((g, value) => ({ prefix: g[0]!.prefix, value })));
  }

  /** The index of the group with the longest prefix that contains a, or -1. */
  lookup(a: Addr): number {
    return this.family === 4 ? this.lpm.lookup4(a.w0) : this.lpm.lookup6(a.w0, a.w1, a.w2, a.w3);
  }

  /** Every group containing a, longest prefix first (to explain a decision). */
  containing(a: Addr): RouteGroup[] {
    return this.lpm.matches(a).map((e) => this.groups[e.value]!);
  }

  get size(): number {
    return this.groups.reduce((n, g) => n + g.length, 0);
  }
}

export class Fib {
  constructor(
    readonly own: RouteTable,
    readonly shared?: RouteTable,
  ) {}

  /** The route the kernel selects for a, or undefined when no route matches. */
  lookup(a: Addr): Route | undefined {
    const own = this.own;
    const i = own.lookup(a);
    const shared = this.shared;
    const j = shared === undefined ? -1 : shared.lookup(a);
    if (j < 0) return i < 0 ? undefined : own.best[i];
    // The longer prefix wins; on a tie the netns's own route shadows the shared one.
    return i >= 0 && own.bits[i]! >= shared!.bits[j]! ? own.best[i] : shared!.best[j];
  }

  /** Every route that contains a, in the kernel's order of preference (the first is what lookup returns). */
  candidates(a: Addr): Route[] {
    const own = this.own.containing(a);
    const shadowed = new Set(own.map((g) => g[0]!.prefix.bits));
    const shared = (this.shared?.containing(a) ?? []).filter((g) => !shadowed.has(g[0]!.prefix.bits));
    return [...own, ...shared].sort((x, y) => y[0]!.prefix.bits - x[0]!.prefix.bits).flat();
  }
}
