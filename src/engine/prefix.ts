// Network prefixes ("10.1.1.0/24", "fd00::/64"): the destinations of routes and the extent of subnets.

import { Addr, AddrError, type Family } from './addr.js';

export class Prefix {
  /** `addr` always has its host bits cleared, so two prefixes are equal exactly when their fields are. */
  private constructor(
    readonly addr: Addr,
    readonly bits: number,
  ) {}

  /** The prefix of length `bits` that contains addr (host bits are cleared, not rejected). */
  static of(addr: Addr, bits: number): Prefix {
    checkBits(bits, addr, () => `prefix length ${bits} for ${addr}`);
    return new Prefix(mask(addr, bits), bits);
  }

  /**
   * Strict: host bits set is an error, because "10.1.1.5/24" written where a prefix belongs is nearly always an
   * interface address pasted from `ip addr`. A bare address is a host prefix (/32, /128), the way `ip route` prints
   * host routes.
   */
  static parse(s: string): Prefix {
    const { addr, bits } = parseAddrBits(s, 'prefix');
    const p = new Prefix(mask(addr, bits), bits);
    if (!p.addr.equals(addr)) {
      throw new AddrError(`${s} has host bits set (the prefix is ${p}; ${s} is an interface address)`);
    }
    return p;
  }

  /**
   * The `dst` field of `ip -j route`: a prefix, a bare host address, or "default". "default" does not say its family,
   * so it needs one (`ip route` vs `ip -6 route`); a given family is also enforced on the other forms.
   */
  static parseRouteDst(s: string, family?: Family): Prefix {
    if (s === 'default' && family === undefined) {
      throw new AddrError('route destination "default" does not say its family (0.0.0.0/0 or ::/0)');
    }
    const p = s === 'default' ? Prefix.of(family === 6 ? ZERO6 : ZERO4, 0) : Prefix.parse(s);
    if (family !== undefined && p.family !== family) {
      throw new AddrError(`route destination ${JSON.stringify(s)} is not an IPv${family} prefix`);
    }
    return p;
  }

  /** The smallest prefix that holds every address: the segment a set of underlay addresses implies. */
  static smallestContaining(addrs: readonly Addr[]): Prefix {
    if (addrs.length === 0) throw new AddrError('no smallest prefix contains an empty set of addresses');
    const first = addrs[0];
    let bits: number = first.bits;
    for (const a of addrs) {
      if (a.family !== first.family) throw new AddrError(`${first} and ${a} are not of the same family`);
      bits = Math.min(bits, commonBits(first, a));
    }
    return Prefix.of(first, bits);
  }

  get family(): Family {
    return this.addr.family;
  }

  /**
   * The number of addresses. A power of two is exact in a double at any size, so this is exact even for ::/0; but
   * beyond 2^53 (IPv6 prefixes shorter than /75) it cannot be counted down or iterated with ordinary numbers.
   */
  get size(): number {
    return 2 ** (this.addr.bits - this.bits);
  }

  /** False for an address of the other family: an IPv4 packet never matches an IPv6 route. */
  contains(a: Addr): boolean {
    return a.family === this.family && commonBits(this.addr, a) >= this.bits;
  }

  containsPrefix(p: Prefix): boolean {
    return p.bits >= this.bits && this.contains(p.addr);
  }

  /** Prefixes either nest or are disjoint, so they overlap exactly when the shorter contains the longer. */
  overlaps(p: Prefix): boolean {
    return p.family === this.family && commonBits(this.addr, p.addr) >= Math.min(this.bits, p.bits);
  }

  first(): Addr {
    return this.addr;
  }

  last(): Addr {
    const a = this.addr;
    const w = (i: number) => (a.word(i) | ~maskWord(this.bits, i)) >>> 0;
    return a.family === 4 ? Addr.v4(w(0)) : Addr.v6(w(0), w(1), w(2), w(3));
  }

  equals(p: Prefix): boolean {
    return this.bits === p.bits && this.addr.equals(p.addr);
  }

  toString(): string {
    return `${this.addr}/${this.bits}`;
  }

  /** The way `ip -j route` prints dst: "default" for /0, a bare address for a host route. */
  toRouteDst(): string {
    if (this.bits === 0) return 'default';
    return this.bits === this.addr.bits ? this.addr.toString() : this.toString();
  }

  toJSON(): string {
    return this.toString();
  }
}

const ZERO4 = Addr.v4(0);
const ZERO6 = Addr.v6(0, 0, 0, 0);

/**
 * Splits "address/length" (or a bare address, taken as a host prefix) for the two notations that share it, prefixes and
 * interface addresses; `kind` names the notation in error messages.
 */
export function parseAddrBits(s: string, kind: string): { addr: Addr; bits: number } {
  const slash = s.indexOf('/');
  if (slash < 0) {
    const addr = Addr.parse(s);
    return { addr, bits: addr.bits };
  }
  const addr = Addr.parse(s.slice(0, slash));
  const text = s.slice(slash + 1);
  // Digits only, without a sign, spaces or leading zeros: "/08" and "/+8" are typos, not lengths.
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) {
    throw new AddrError(`invalid ${kind} ${JSON.stringify(s)}: ${JSON.stringify(text)} is not a prefix length`);
  }
  const bits = Number(text);
  checkBits(bits, addr, () => `invalid ${kind} ${JSON.stringify(s)}`);
  return { addr, bits };
}

function checkBits(bits: number, addr: Addr, what: () => string): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > addr.bits) {
    throw new AddrError(`${what()}: the length of an IPv${addr.family} prefix is 0..${addr.bits}`);
  }
}

/** The leading bits of word i (0..3) that a prefix of length `bits` covers, as a uint32 mask. */
function maskWord(bits: number, i: number): number {
  const b = bits - 32 * i;
  if (b <= 0) return 0;
  return b >= 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
}

function mask(a: Addr, bits: number): Addr {
  const w = (i: number) => (a.word(i) & maskWord(bits, i)) >>> 0;
  return a.family === 4 ? Addr.v4(w(0)) : Addr.v6(w(0), w(1), w(2), w(3));
}

/** How many leading bits two addresses of one family share; containment and overlap both reduce to it. */
function commonBits(a: Addr, b: Addr): number {
  for (let i = 0; i < 4; i++) {
    const x = (a.word(i) ^ b.word(i)) >>> 0;
    if (x !== 0) return 32 * i + Math.clz32(x);
  }
  return a.bits;
}
