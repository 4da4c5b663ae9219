// Short lists of prefixes (a Service's loadBalancerSourceRanges, a node's pod CIDRs, kube-proxy's clusterCIDR) matched
// against an address given as words, without allocating: the per-packet rules of kube-proxy test a source or destination
// against a handful of prefixes, where a longest-prefix-match table would cost more than it saves.
import type { Family } from '../addr.js';
import type { Prefix } from '../prefix.js';

export class PrefixList {
  private readonly words: Uint32Array;
  private readonly bits: Uint8Array;
  private readonly family: Uint8Array;
  readonly prefixes: readonly Prefix[];

  constructor(prefixes: readonly Prefix[]) {
    this.prefixes = prefixes;
    const n = prefixes.length;
    this.words = new Uint32Array(4 * n);
    this.bits = new Uint8Array(n);
    this.family = new Uint8Array(n);
    prefixes.forEach((p, i) => {
      for (let w = 0; w < 4; w++) this.words[4 * i + w] = p.addr.word(w);
      this.bits[i] = p.bits;
      this.family[i] = p.family;
    });
  }

  get length(): number {
    return this.family.length;
  }

  /** Whether prefix i holds the address. */
  holds(i: number, family: Family, w0: number, w1: number, w2: number, w3: number): boolean {
    if (this.family[i] !== family) return false;
    let bits = this.bits[i]!;
    const base = 4 * i;
    for (let w = 0; w < 4 && bits > 0; w++, bits -= 32) {
      const word = w === 0 ? w0 : w === 1 ? w1 : w === 2 ? w2 : w3;
      const mask = bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
      if (((word & mask) >>> 0) !== this.words[base + w]) return false;
    }
    return true;
  }

  /** Whether any prefix in [start, end) holds the address. */
  any(start: number, end: number, family: Family, w0: number, w1: number, w2: number, w3: number): boolean {
    for (let i = start; i < end; i++) if (this.holds(i, family, w0, w1, w2, w3)) return true;
    return false;
  }
}
