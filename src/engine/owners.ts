// Who owns an address: the links it is configured on, across the whole fabric. Used twice per hop: is the destination
// local to this netns, and which neighbour answers ARP/ND for a next hop. One LPM of host prefixes per family maps an
// address to the head of a chain of owners (an address may be configured in several isolated namespaces, e.g. docker0's
// 172.17.0.1 on every node), walked with integer arrays only.
import type { Addr } from './addr.js';
import { Lpm } from './lpm.js';
import { Prefix } from './prefix.js';

interface Owned {
  readonly id: number;
  readonly addrs: readonly { readonly addr: Addr }[];
}

export class Owners {
  private readonly lpm4: Lpm;
  private readonly lpm6: Lpm;
  private readonly linkOf: Int32Array;
  private readonly nextOf: Int32Array;

  constructor(links: readonly Owned[]) {
    // Per address, its first and last owner entry: chains keep configuration order, so ARP finds the first owner first.
    const ends = new Map<string, { head: number; tail: number }>();
    const entries: { prefix: Prefix; value: number }[] = [];
    const link: number[] = [];
    const next: number[] = [];
    for (const l of links) {
      for (const { addr } of l.addrs) {
        const key = addr.toString();
        const o = link.length;
        link.push(l.id);
        next.push(-1);
        const chain = ends.get(key);
        if (chain === undefined) {
          ends.set(key, { head: o, tail: o });
          entries.push({ prefix: Prefix.of(addr, addr.bits), value: o });
        } else {
          next[chain.tail] = o;
          chain.tail = o;
        }
      }
    }
    this.linkOf = Int32Array.from(link);
    this.nextOf = Int32Array.from(next);
    this.lpm4 = new Lpm(4, entries.filter((e) => e.prefix.family === 4));
    this.lpm6 = new Lpm(6, entries.filter((e) => e.prefix.family === 6));
  }

  /** The first owner entry of a, or -1. */
  first(a: Addr): number {
    return a.family === 4 ? this.lpm4.lookup4(a.w0) : this.lpm6.lookup6(a.w0, a.w1, a.w2, a.w3);
  }

  next(o: number): number {
    return this.nextOf[o]!;
  }

  /** The link id of owner entry o. */
  link(o: number): number {
    return this.linkOf[o]!;
  }
}
