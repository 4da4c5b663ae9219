// The longest-prefix-match table: which route a destination address selects.
//
// Layout: a multibit trie with 8-bit strides, leaf-pushed, compiled once into a single Int32Array. Every node is 256
// consecutive slots, one per value of the next address byte; the root is at offset 0. A slot holds either
//   - a child: the offset (> 0) of the node for the next byte, or
//   - a leaf (< 0): -(value + 2), where value is the longest match so far; -1 means no match, so the empty leaf is -1.
// Prefixes whose length is not a multiple of 8 are expanded into every slot they cover (controlled prefix expansion),
// and each new child node starts as 256 copies of the leaf it replaces (leaf pushing), so a lookup never backtracks: it
// reads one slot per address byte and stops at the first leaf. IPv4 takes at most 4 dependent loads, IPv6 at most 16.
//
// Why this rather than bart's ART nodes with popcount-compressed children: the lookup loop is nothing but typed-array
// reads, shifts and one sign test per byte, which V8 compiles to a handful of instructions, with no bitset rank or
// backtracking stack. The price is memory: a node is 1 KiB and a prefix adds at most one node per stride above its own,
// so clustered tables stay small (150,000 pod /32s in 5,000 /24s: about 5,000 nodes, 5 MB), while scattered long
// prefixes cost up to ceil(bits/8) - 1 KiB each (3 KiB for a lone IPv4 /32, 15 KiB for a lone IPv6 /128).
//
// Tiny tables skip the trie: a cluster has one table per namespace, and a pod's two or three routes would cost 1-3 KiB
// as a trie, 450 MB over 150,000 pods. Up to SCAN_MAX prefixes are kept as a list of (network, mask, value), longest
// first, in the same Int32Array, and scanned: tens of bytes, and still over 100 M lookups/s at 8 prefixes.
//
// Tables of host routes and at most SCAN_MAX other prefixes (a node's: its pods' /32s, its pod CIDR, its subnet, the
// default route) are a scan list of the other prefixes followed by a hash table of the host routes: as a trie a node's
// table is 4-6 KiB, and a lookup reads a cache line at each of up to four levels, one cache miss each when thousands of
// nodes' tables are looked up in turn; this way a lookup reads the scan list and, only when the prefix it matched covers
// host routes, one slot of the hash table. A host route is longer than any other prefix, so it wins wherever it matches.
// Up to HOSTS_MAX host routes: a large table of clustered addresses (every pod's, in Owners) touches fewer cache lines
// as a trie, whose last level keeps a /24's addresses side by side where a hash spreads them.
//
// The same layout serves a table of many prefixes of one other length and at most SCAN_MAX others, when the trie would be
// much larger than the hash: Calico's blocks, a /26 per node, need a trie node of 1 KiB for each /24 they lie in (5 MB at
// 5,000 nodes, where every lookup misses the cache); hashed by their first 26 bits they take 128 KiB. Byte-aligned
// lengths (flannel's and Cilium's /24 per node) share their trie's nodes, which stay small and stay a trie.

import { Addr, type Family } from './addr.js';
import { hash4, hash6, slotBits } from './address-map.js';
import { Prefix } from './prefix.js';

/** A route destination and what it maps to: an index into the caller's route groups. */
export interface LpmEntry {
  readonly prefix: Prefix;
  readonly value: number;
}

/** All ones: the masks of hashed lengths are prefixes of these. */
const ONES4 = Addr.v4(0xffffffff);
const ONES6 = Addr.v6(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff);

const STRIDE = 256;
const SCAN_MAX = 8;
const HOSTS_MAX = 1024;
const NO_MATCH = -1;
/** Leaves are -(value + 2); the most negative int32 bounds the values a slot can hold. */
const MAX_VALUE = 2 ** 31 - 2;
/**
 * How a table is laid out, as one int (`scan`): a scan list of `scan` ints when ≥ 0, a trie when TRIE, and when below it
 * a host table whose scan list has -scan - 2 ints.
 */
const TRIE = -1;
/**
 * A host table hashes the prefixes of one length, the host length or another (see above), which this comment calls host
 * routes. It starts with a header: the hash table's slot mask, its shift (see hash4), whether some host route lies under
 * none of the scan list's prefixes, and the mask of the hashed length, one word for IPv4 and four for IPv6 (what an address
 * is ANDed with to make the key). Its scan list's entries are those of a scan list plus one int: whether some host route
 * has that prefix as its longest shorter match (a longer prefix wins over any host route it matches). The hash slots
 * follow: the key's words, then the value (-1 for an empty slot).
 */
const HOST_HEADER4 = 4;
const HOST_HEADER6 = 7;
/** A prefix length other than the host length is hashed when its trie would take this many times the hash's bytes. */
const HASH_GAIN = 4;

export class Lpm {
  /** The trie, or for a tiny table the scan list, or a host table (see HOST_HEADER4). */
  private readonly t: Int32Array;
  /** The length of the scan list, or -1 when t is a trie. */
  private readonly scan: number;
  /** Distinct prefixes, ordered by address then length, for the binary searches of `matches`. */
  private readonly sorted: readonly LpmEntry[];
  /** The distinct prefix lengths present, longest first. */
  private readonly lengths: readonly number[];

  /**
   * Entries must all be of `family`. When a prefix appears more than once the last entry wins, as a later
   * `ip route replace` would.
   */
  constructor(
    readonly family: Family,
    entries: readonly LpmEntry[],
  ) {
    const distinct = dedupe(family, entries);
    const full = family === 4 ? 32 : 128;
    const hosts = distinct.filter((e) => e.prefix.bits === full).length;
    const hashed = distinct.length <= SCAN_MAX ? -1 : hashedLength(family, distinct, hosts);
    if (distinct.length <= SCAN_MAX) {
      this.t = scanList(family, distinct);
      this.scan = this.t.length;
    } else if (hashed >= 0) {
      this.t = hostTable(family, distinct, hashed);
      this.scan = -2 - distinct.filter((e) => e.prefix.bits !== hashed).length * (family === 4 ? 4 : 10);
    } else {
      this.t = compile(distinct);
      this.scan = TRIE;
    }
    this.sorted = distinct.slice().sort(byPrefix);
    this.lengths = [...new Set(distinct.map((e) => e.prefix.bits))].sort((x, y) => y - x);
  }

  /** The number of distinct prefixes. */
  get size(): number {
    return this.sorted.length;
  }

  /** Bytes held by the compiled table (not counting the entry list kept for `matches`). */
  get byteLength(): number {
    return this.t.byteLength;
  }

  /** The value of the longest prefix containing the IPv4 address a (a uint32), or -1. Only for an IPv4 table. */
  lookup4(a: number): number {
    return find4(this.t, 0, this.scan, a);
  }

  /** The value of the longest prefix containing the IPv6 address w0..w3, or -1. Only for an IPv6 table. */
  lookup6(w0: number, w1: number, w2: number, w3: number): number {
    return find6(this.t, 0, this.scan, w0, w1, w2, w3);
  }

  /** Like lookup4/lookup6; an address of the other family matches nothing. */
  lookup(a: Addr): number {
    if (a.family !== this.family) return NO_MATCH;
    return a.family === 4 ? this.lookup4(a.w0) : this.lookup6(a.w0, a.w1, a.w2, a.w3);
  }

  /**
   * Packs tables into one LpmSet: each table's compiled array is copied to its own offset of one shared array, with the
   * child offsets of a trie moved by it.
   */
  static pack(tables: readonly Lpm[]): LpmSet {
    let size = 0;
    for (const l of tables) size += l.t.length;
    const t = new Int32Array(size);
    const at = new Int32Array(tables.length * 2);
    let root = 0;
    for (const [i, l] of tables.entries()) {
      at[2 * i] = root;
      at[2 * i + 1] = l.scan;
      // Only a trie holds offsets; the other layouts are read relative to their start.
      if (l.scan !== TRIE) t.set(l.t, root);
      else for (let k = 0; k < l.t.length; k++) t[root + k] = l.t[k] > 0 ? l.t[k] + root : l.t[k];
      root += l.t.length;
    }
    return new LpmSet(t, at);
  }

  /** Every entry whose prefix contains a, longest first: the losing candidates that explain a decision. */
  matches(a: Addr): LpmEntry[] {
    const out: LpmEntry[] = [];
    if (a.family !== this.family) return out;
    for (const bits of this.lengths) {
      const e = this.find(Prefix.of(a, bits));
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  private find(p: Prefix): LpmEntry | undefined {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = s[mid].prefix;
      const c = q.addr.compare(p.addr) || q.bits - p.bits;
      if (c === 0) return s[mid];
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return undefined;
  }
}

/**
 * Many tables in one Int32Array, each known by its number (its position in Lpm.pack's list). A fabric has thousands of
 * tiny tables, one per node and per group of pods; as separate Lpm objects each lookup chases object → typed array →
 * data through a heap of hundreds of megabytes, three cache misses. Packed, the tables of a 5,000-node cluster take a
 * few hundred kilobytes that stay in cache.
 */
export class LpmSet {
  /** Made by Lpm.pack: the tables, and per table its offset in t and its scan-list length (-1 for a trie). */
  constructor(
    private readonly t: Int32Array,
    private readonly at: Int32Array,
  ) {}

  /** Like Lpm.lookup4, in table number `table`. */
  lookup4(table: number, a: number): number {
    return find4(this.t, this.at[2 * table], this.at[2 * table + 1], a);
  }

  /** Like Lpm.lookup6, in table number `table`. */
  lookup6(table: number, w0: number, w1: number, w2: number, w3: number): number {
    return find6(this.t, this.at[2 * table], this.at[2 * table + 1], w0, w1, w2, w3);
  }
}

/** The IPv4 lookup in the table at offset `root` of t, laid out as `scan` says. */
function find4(t: Int32Array, root: number, scan: number, a: number): number {
  if (scan === TRIE) return -walk(t, root, a) - 2;
  if (scan < TRIE) return hosts4(t, root, -scan - 2, a);
  for (let i = root, end = root + scan; i < end; i += 3) if ((a & t[i + 1]) === t[i]) return t[i + 2];
  return NO_MATCH;
}

/** The IPv4 lookup in a host table whose scan list has `scan` ints. */
function hosts4(t: Int32Array, root: number, scan: number, a: number): number {
  let value = NO_MATCH;
  let under = t[root + 2];
  const list = root + HOST_HEADER4;
  for (let i = list, end = list + scan; i < end; i += 4) {
    if ((a & t[i + 1]) === t[i]) {
      value = t[i + 2];
      under = t[i + 3];
      break;
    }
  }
  if (under === 0) return value;
  const slots = list + scan;
  const mask = t[root];
  const key = a & t[root + 3];
  for (let h = hash4(key) >>> t[root + 1]; ; h = (h + 1) & mask) {
    const at = slots + 2 * h;
    const v = t[at + 1];
    if (v === NO_MATCH) return value;
    if (t[at] === key) return v;
  }
}

/** The IPv6 lookup in a host table, as hosts4. */
function hosts6(t: Int32Array, root: number, scan: number, w0: number, w1: number, w2: number, w3: number): number {
  let value = NO_MATCH;
  let under = t[root + 2];
  const list = root + HOST_HEADER6;
  for (let i = list, end = list + scan; i < end; i += 10) {
    if (
      (w0 & t[i + 4]) === t[i] &&
      (w1 & t[i + 5]) === t[i + 1] &&
      (w2 & t[i + 6]) === t[i + 2] &&
      (w3 & t[i + 7]) === t[i + 3]
    ) {
      value = t[i + 8];
      under = t[i + 9];
      break;
    }
  }
  if (under === 0) return value;
  const slots = list + scan;
  const mask = t[root];
  const k0 = w0 & t[root + 3];
  const k1 = w1 & t[root + 4];
  const k2 = w2 & t[root + 5];
  const k3 = w3 & t[root + 6];
  for (let h = hash6(k0, k1, k2, k3) >>> t[root + 1]; ; h = (h + 1) & mask) {
    const at = slots + 5 * h;
    const v = t[at + 4];
    if (v === NO_MATCH) return value;
    if (t[at] === k0 && t[at + 1] === k1 && t[at + 2] === k2 && t[at + 3] === k3) return v;
  }
}

/** The IPv6 lookup in the table at offset `root` of t, as find4. */
function find6(t: Int32Array, root: number, scan: number, w0: number, w1: number, w2: number, w3: number): number {
  if (scan < TRIE) return hosts6(t, root, -scan - 2, w0, w1, w2, w3);
  if (scan >= 0) {
    for (let i = root, end = root + scan; i < end; i += 9) {
      if (
        (w0 & t[i + 4]) === t[i] &&
        (w1 & t[i + 5]) === t[i + 1] &&
        (w2 & t[i + 6]) === t[i + 2] &&
        (w3 & t[i + 7]) === t[i + 3]
      ) {
        return t[i + 8];
      }
    }
    return NO_MATCH;
  }
  let s = walk(t, root, w0);
  if (s < 0) return -s - 2;
  s = walk(t, s, w1);
  if (s < 0) return -s - 2;
  s = walk(t, s, w2);
  if (s < 0) return -s - 2;
  return -walk(t, s, w3) - 2;
}

function byPrefix(x: LpmEntry, y: LpmEntry): number {
  return x.prefix.addr.compare(y.prefix.addr) || x.prefix.bits - y.prefix.bits;
}

/**
 * Follows the four bytes of one address word from the node at offset s. Returns the leaf reached, or the offset of the
 * node for the next word. Kept tiny so V8 inlines it into the lookups.
 */
function walk(t: Int32Array, s: number, w: number): number {
  s = t[s + (w >>> 24)];
  if (s < 0) return s;
  s = t[s + ((w >>> 16) & 255)];
  if (s < 0) return s;
  s = t[s + ((w >>> 8) & 255)];
  if (s < 0) return s;
  return t[s + (w & 255)];
}

/** Validates the entries and keeps, for each prefix, the last entry that names it; in first-appearance order. */
function dedupe(family: Family, entries: readonly LpmEntry[]): LpmEntry[] {
  const index = new Map<number | string, number>();
  const out: LpmEntry[] = [];
  for (const e of entries) {
    if (e.prefix.family !== family) throw new RangeError(`${e.prefix} in an IPv${family} table`);
    if (!Number.isInteger(e.value) || e.value < 0 || e.value > MAX_VALUE) {
      throw new RangeError(`value ${e.value} for ${e.prefix} is not an integer in 0..${MAX_VALUE}`);
    }
    // An IPv4 prefix is keyed by its value and length (at most 2^38), which costs no string: the owner tables of a large
    // cluster hold hundreds of thousands of host prefixes, and formatting each was a visible part of the compile.
    const key = family === 4 ? e.prefix.addr.w0 * 64 + e.prefix.bits : e.prefix.toString();
    const i = index.get(key);
    if (i === undefined) {
      index.set(key, out.length);
      out.push(e);
    } else {
      out[i] = e;
    }
  }
  return out;
}

/**
 * The scan list: per prefix, longest first, its network words then its mask words (one each for IPv4, four for IPv6)
 * and its value. Words are stored as int32, which is what `&` yields, so the comparison needs no unsigned conversion.
 */
function scanList(family: Family, entries: readonly LpmEntry[]): Int32Array {
  const words = family === 4 ? 1 : 4;
  const out = new Int32Array(entries.length * (2 * words + 1));
  let i = 0;
  for (const { prefix, value } of entries.slice().sort((x, y) => y.prefix.bits - x.prefix.bits)) {
    const first = prefix.first();
    const last = prefix.last();
    for (let w = 0; w < words; w++) out[i + w] = first.word(w);
    for (let w = 0; w < words; w++) out[i + words + w] = ~(first.word(w) ^ last.word(w));
    out[i + 2 * words] = value;
    i += 2 * words + 1;
  }
  return out;
}

/**
 * The prefix length a table of more than SCAN_MAX prefixes is hashed by (see HOST_HEADER4), or -1 for a trie: the host
 * length when at most SCAN_MAX prefixes are shorter and at most HOSTS_MAX are hosts; else the most common length when at
 * most SCAN_MAX prefixes have another and its trie would be HASH_GAIN times the hash's size.
 */
function hashedLength(family: Family, entries: readonly LpmEntry[], hosts: number): number {
  const full = family === 4 ? 32 : 128;
  if (entries.length - hosts <= SCAN_MAX) return hosts <= HOSTS_MAX ? full : -1;
  const counts = new Map<number, number>();
  for (const e of entries) counts.set(e.prefix.bits, (counts.get(e.prefix.bits) ?? 0) + 1);
  let length = -1;
  let count = 0;
  for (const [bits, n] of counts) if (n > count) [length, count] = [bits, n];
  if (length === full || entries.length - count > SCAN_MAX) return -1;
  // The trie's nodes for these prefixes: one per distinct run of their first 8, 16, … bits above their last byte.
  const depth = (length - 1) >> 3;
  const nodes = new Set<string>();
  for (const e of entries) {
    if (e.prefix.bits !== length) continue;
    for (let d = 1; d <= depth; d++) nodes.add(`${d}:${Prefix.of(e.prefix.addr, 8 * d)}`);
  }
  const words = family === 4 ? 1 : 4;
  const hashBytes = (1 << slotBits(count)) * (words + 1) * 4;
  return (nodes.size + 1) * STRIDE * 4 >= HASH_GAIN * hashBytes ? length : -1;
}

/**
 * The host table (see HOST_HEADER4) hashing the prefixes of length `length`, of which at most SCAN_MAX others: those as
 * a scan list, longest first, each shorter one flagged when it is the longest of them over some hashed prefix, then the
 * hashed prefixes.
 */
function hostTable(family: Family, entries: readonly LpmEntry[], length: number): Int32Array {
  const words = family === 4 ? 1 : 4;
  const header = family === 4 ? HOST_HEADER4 : HOST_HEADER6;
  // Longest first, the scan list's order (its sort is stable, so it keeps this one).
  const others = entries.filter((e) => e.prefix.bits !== length).sort((x, y) => y.prefix.bits - x.prefix.bits);
  const hosts = entries.filter((e) => e.prefix.bits === length);
  const list = scanList(family, others);
  const stride = 2 * words + 1;
  const bits = slotBits(hosts.length);
  const slot = words + 1;
  const slots = header + (list.length / stride) * (stride + 1);
  const out = new Int32Array(slots + (1 << bits) * slot);
  out[0] = (1 << bits) - 1;
  out[1] = 32 - bits;
  const mask = Prefix.of(family === 4 ? ONES4 : ONES6, length).addr;
  for (let w = 0; w < words; w++) out[3 + w] = mask.word(w);
  for (let i = 0; i < list.length / stride; i++) out.set(list.subarray(i * stride, (i + 1) * stride), header + i * (stride + 1));
  for (let i = slots; i < out.length; i += slot) out[i + words] = NO_MATCH;
  for (const { prefix, value } of hosts) {
    const a = prefix.addr;
    // A longer prefix wins wherever it matches, so only the shorter ones are flagged.
    const over = others.findIndex((e) => e.prefix.bits < length && e.prefix.contains(a));
    out[over < 0 ? 2 : header + over * (stride + 1) + stride] = 1;
    const hash = family === 4 ? hash4(a.w0 | 0) : hash6(a.w0 | 0, a.w1 | 0, a.w2 | 0, a.w3 | 0);
    let h = hash >>> out[1]!;
    while (out[slots + h * slot + words] !== NO_MATCH) h = (h + 1) & out[0]!;
    for (let w = 0; w < words; w++) out[slots + h * slot + w] = a.word(w);
    out[slots + h * slot + words] = value;
  }
  return out;
}

function byteAt(a: Addr, d: number): number {
  return (a.word(d >> 2) >>> (24 - 8 * (d & 3))) & 255;
}

/**
 * Inserts prefixes shortest first. Then the slots a prefix expands into never hold a child yet (children are only made
 * by longer prefixes), so insertion is a plain fill, and every child is created under the longest match already in
 * place, which is the leaf it gets pushed down.
 */
function compile(entries: readonly LpmEntry[]): Int32Array {
  const byLength = entries.slice().sort((x, y) => x.prefix.bits - y.prefix.bits);
  let t = new Int32Array(STRIDE * 16).fill(NO_MATCH);
  let used = STRIDE;
  for (const { prefix, value } of byLength) {
    const leaf = -(value + 2);
    if (prefix.bits === 0) {
      t.fill(leaf, 0, STRIDE);
      continue;
    }
    const depth = (prefix.bits - 1) >> 3;
    let node = 0;
    for (let d = 0; d < depth; d++) {
      const slot = node + byteAt(prefix.addr, d);
      let s = t[slot];
      if (s < 0) {
        if (used + STRIDE > t.length) {
          const bigger = new Int32Array(t.length * 2);
          bigger.set(t);
          t = bigger;
        }
        t.fill(s, used, used + STRIDE);
        t[slot] = s = used;
        used += STRIDE;
      }
      node = s;
    }
    const start = node + byteAt(prefix.addr, depth);
    t.fill(leaf, start, start + (1 << (8 * (depth + 1) - prefix.bits)));
  }
  return t.slice(0, used);
}
