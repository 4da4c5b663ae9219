// An exact-match table from addresses to numbers, for keys that are whole addresses (neighbour entries), where a
// longest-prefix trie would spend a 1 KiB node per scattered /32: open addressing in one Int32Array per family, a slot
// holding the key's words and its value side by side, so that a lookup usually reads one cache line of a table a few
// times the size of its entries.
import type { Addr, Family } from './addr.js';

/** Ints per slot: IPv4 the address and the value; IPv6 four words, the value, and padding to 32 bytes. */
const SLOT4 = 2;
const SLOT6 = 8;
const EMPTY = -1;
/** 2^32 / φ: multiplying by it spreads any run of addresses over the high bits of the product (Fibonacci hashing). */
const GOLDEN = 0x9e3779b1;

/** The hash of an IPv4 address: its high `32 - shift` bits number a slot of a table of 2^(32 - shift). */
export function hash4(w0: number): number {
  return Math.imul(w0, GOLDEN);
}

/** The hash of an IPv6 address, as hash4. */
export function hash6(w0: number, w1: number, w2: number, w3: number): number {
  return Math.imul(w0 ^ Math.imul(w1 ^ Math.imul(w2 ^ Math.imul(w3, GOLDEN), GOLDEN), GOLDEN), GOLDEN);
}

/** log2 of the slots for n keys: at least twice as many slots as keys, and two, so a probe always meets an empty slot. */
export function slotBits(n: number): number {
  let b = 1;
  while (1 << b < 2 * n) b++;
  return b;
}

export class AddressMap {
  private readonly slots4: Int32Array;
  private readonly slots6: Int32Array;
  /** 32 - log2(slots): the product's high bits are the slot number. */
  private readonly shift4: number;
  private readonly shift6: number;
  private readonly mask4: number;
  private readonly mask6: number;

  /** Values must be ≥ 0; a later entry of the same address replaces the earlier one. */
  constructor(entries: readonly { readonly addr: Addr; readonly value: number }[]) {
    const b4 = slotBits(entries.filter((e) => e.addr.family === 4).length);
    const b6 = slotBits(entries.filter((e) => e.addr.family === 6).length);
    const s4 = 1 << b4;
    const s6 = 1 << b6;
    this.shift4 = 32 - b4;
    this.shift6 = 32 - b6;
    this.mask4 = s4 - 1;
    this.mask6 = s6 - 1;
    this.slots4 = new Int32Array(s4 * SLOT4).fill(EMPTY);
    this.slots6 = new Int32Array(s6 * SLOT6).fill(EMPTY);
    for (const { addr: a, value } of entries) {
      if (a.family === 4) {
        const at = this.slot4(a.w0 | 0);
        this.slots4[at] = a.w0 | 0;
        this.slots4[at + 1] = value;
      } else {
        const at = this.slot6(a.w0 | 0, a.w1 | 0, a.w2 | 0, a.w3 | 0);
        this.slots6.set([a.w0 | 0, a.w1 | 0, a.w2 | 0, a.w3 | 0, value], at);
      }
    }
  }

  /** The value of the address w0..w3 of `family`, or -1. */
  get(family: Family, w0: number, w1: number, w2: number, w3: number): number {
    return family === 4 ? this.slots4[this.slot4(w0 | 0) + 1]! : this.slots6[this.slot6(w0 | 0, w1 | 0, w2 | 0, w3 | 0) + 4]!;
  }

  /** The slot holding the IPv4 address, or the empty one where it would go. */
  private slot4(w0: number): number {
    const t = this.slots4;
    let i = hash4(w0) >>> this.shift4;
    while (t[i * SLOT4 + 1] !== EMPTY && t[i * SLOT4] !== w0) i = (i + 1) & this.mask4;
    return i * SLOT4;
  }

  private slot6(w0: number, w1: number, w2: number, w3: number): number {
    const t = this.slots6;
    let i = hash6(w0, w1, w2, w3) >>> this.shift6;
    for (;;) {
      const at = i * SLOT6;
      if (t[at + 4] === EMPTY || (t[at] === w0 && t[at + 1] === w1 && t[at + 2] === w2 && t[at + 3] === w3)) return at;
      i = (i + 1) & this.mask6;
    }
  }
}
