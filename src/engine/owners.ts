// Who owns an address: the links it is configured on, across the whole fabric. Used to decide whether the destination is
// local to a netns and which neighbour answers ARP/ND for a next hop. One LPM of host prefixes per family maps an address
// to the head of a chain of owners (an address may be configured in several isolated namespaces, e.g. docker0's
// 172.17.0.1 on every node), walked with integer arrays only.
import type { Addr } from './addr.js';
import { Lpm } from './lpm.js';
import { Prefix } from './prefix.js';

interface Owned {
  readonly id: number;
  readonly netns: number;
  readonly addrs: readonly { readonly addr: Addr }[];
}

/**
 * Ints per owner entry in `chain`: the link, the next entry of the same address (-1 at the end), the link's netns (-1
 * outside), and one unused (16 bytes, so an entry never straddles a cache line).
 */
const ENTRY = 4;

export class Owners {
  private readonly lpm4: Lpm;
  private readonly lpm6: Lpm;
  /** The fields of an entry side by side: is the address local to a netns costs one cache line per owner. */
  private readonly chain: Int32Array;

  constructor(links: readonly Owned[]) {
    // Per address, its last owner entry so far: chains keep configuration order, so ARP finds the first owner first. An
    // IPv4 address is keyed by its value, which costs no string (a cluster has hundreds of thousands).
    const last = new Map<number | string, number>();
    const entries: { prefix: Prefix; value: number }[] = [];
    let count = 0;
    for (const l of links) count += l.addrs.length;
    const chain = (this.chain = new Int32Array(count * ENTRY));
    let o = 0;
    for (const l of links) {
      // Indexed: a for-of per link allocated an iterator for each of hundreds of thousands of links.
      for (let i = 0; i < l.addrs.length; i++) {
        const { addr } = l.addrs[i]!;
        const key = addr.family === 4 ? addr.w0 : addr.toString();
        chain[o * ENTRY] = l.id;
        chain[o * ENTRY + 1] = -1;
        chain[o * ENTRY + 2] = l.netns;
        const tail = last.get(key);
        if (tail === undefined) entries.push({ prefix: Prefix.of(addr, addr.bits), value: o });
        else chain[tail * ENTRY + 1] = o;
        last.set(key, o);
        o++;
      }
    }
    this.lpm4 = new Lpm(4, entries.filter((e) => e.prefix.family === 4));
    this.lpm6 = new Lpm(6, entries.filter((e) => e.prefix.family === 6));
  }

  /** The first owner entry of a, or -1. */
  first(a: Addr): number {
    return a.family === 4 ? this.lpm4.lookup4(a.w0) : this.lpm6.lookup6(a.w0, a.w1, a.w2, a.w3);
  }

  next(o: number): number {
    return this.chain[o * ENTRY + 1]!;
  }

  /** The link id of owner entry o. */
  link(o: number): number {
    return this.chain[o * ENTRY]!;
  }

  /** The netns of owner entry o's link, or -1 for a host outside the model. */
  netns(o: number): number {
    return this.chain[o * ENTRY + 2]!;
  }
}
