// IP addresses as small immutable values, in the spirit of Go's net/netip.
//
// An address is four uint32 words rather than a string, a byte array or a BigInt: the longest-prefix-match table walks
// words with integer operations only, and comparing or masking an address never allocates more than the result.

export type Family = 4 | 6;

/** A malformed address, prefix or interface address, or address arithmetic that leaves the family's range. */
export class AddrError extends Error {
  override readonly name = 'AddrError';
}

const U32 = 0x1_0000_0000;

export class Addr {
  /**
   * The address as four uint32 words, most significant first. IPv4 keeps its value in w0 and zeros in w1..w3, so code
   * that walks words (masks, prefix tables) treats both families alike.
   */
  private constructor(
    readonly family: Family,
    readonly w0: number,
    readonly w1: number,
    readonly w2: number,
    readonly w3: number,
  ) {}

  static v4(n: number): Addr {
    if (!isU32(n)) throw new AddrError(`IPv4 address value ${n} is not an integer in 0..2^32-1`);
    return new Addr(4, n, 0, 0, 0);
  }

  static v6(w0: number, w1: number, w2: number, w3: number): Addr {
    if (!isU32(w0) || !isU32(w1) || !isU32(w2) || !isU32(w3)) {
      throw new AddrError(`IPv6 address words ${w0}, ${w1}, ${w2}, ${w3} are not all integers in 0..2^32-1`);
    }
    return new Addr(6, w0, w1, w2, w3);
  }

  /**
   * Parses dotted-quad IPv4 or RFC 4291 IPv6 text. Strict like netip: no leading zeros in IPv4 octets (they would read
   * as octal to inet_aton), no shortened IPv4 forms, no zones (a zone belongs to a socket, not to an address in a
   * routing table).
   */
  static parse(s: string): Addr {
    const a = parseOrReason(s);
    if (typeof a === 'string') throw new AddrError(`invalid IP address ${JSON.stringify(s)}: ${a}`);
    return a;
  }

  static tryParse(s: string): Addr | undefined {
    const a = parseOrReason(s);
    return typeof a === 'string' ? undefined : a;
  }

  get bits(): 32 | 128 {
    return this.family === 4 ? 32 : 128;
  }

  word(i: number): number {
    switch (i) {
      case 0:
        return this.w0;
      case 1:
        return this.w1;
      case 2:
        return this.w2;
      case 3:
        return this.w3;
      default:
        throw new RangeError(`word index ${i} is not in 0..3`);
    }
  }

  equals(o: Addr): boolean {
    return this.family === o.family && this.w0 === o.w0 && this.w1 === o.w1 && this.w2 === o.w2 && this.w3 === o.w3;
  }

  /** Orders IPv4 before IPv6, then numerically: the order `ip route` users expect when a table is listed. */
  compare(o: Addr): -1 | 0 | 1 {
    if (this.family !== o.family) return this.family < o.family ? -1 : 1;
    for (let i = 0; i < 4; i++) {
      const x = this.word(i);
      const y = o.word(i);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  /**
   * The address n steps away (n a safe integer, negative to step back), for enumerating the hosts of a subnet. Leaving
   * the family's range throws rather than wrapping: a wrapped host address would silently land in another network.
   */
  add(n: number): Addr {
    if (!Number.isSafeInteger(n)) throw new AddrError(`cannot add ${n} to ${this}: not a safe integer`);
    if (this.family === 4) {
      const v = this.w0 + n;
      if (v < 0 || v >= U32) throw new AddrError(`${this} ${n < 0 ? '-' : '+'} ${Math.abs(n)} is outside IPv4`);
      return new Addr(4, v, 0, 0, 0);
    }
    const m = Math.abs(n);
    const step = [0, 0, Math.floor(m / U32), m % U32];
    const w = [this.w0, this.w1, this.w2, this.w3];
    let carry = 0;
    for (let i = 3; i >= 0; i--) {
      let v = n < 0 ? w[i] - step[i] - carry : w[i] + step[i] + carry;
      carry = v < 0 || v >= U32 ? 1 : 0;
      if (v < 0) v += U32;
      else if (v >= U32) v -= U32;
      w[i] = v;
    }
    if (carry !== 0) throw new AddrError(`${this} ${n < 0 ? '-' : '+'} ${m} is outside IPv6`);
    return new Addr(6, w[0], w[1], w[2], w[3]);
  }

  /** Dotted quad for IPv4; RFC 5952 for IPv6, with IPv4-mapped addresses in mixed notation (RFC 5952 section 5). */
  toString(): string {
    if (this.family === 4) return dotted(this.w0);
    if (this.w0 === 0 && this.w1 === 0 && this.w2 === 0xffff) return `::ffff:${dotted(this.w3)}`;
    const groups = [
      this.w0 >>> 16, this.w0 & 0xffff, this.w1 >>> 16, this.w1 & 0xffff,
      this.w2 >>> 16, this.w2 & 0xffff, this.w3 >>> 16, this.w3 & 0xffff,
    ];
    // The longest run of two or more zero groups is compressed to "::"; the first one wins a tie.
    let runStart = -1;
    let runLen = 1;
    for (let i = 0; i < 8; ) {
      if (groups[i] !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === 0) j++;
      if (j - i > runLen) {
        runStart = i;
        runLen = j - i;
      }
      i = j;
    }
    const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
    return runStart < 0 ? hex(0, 8) : `${hex(0, runStart)}::${hex(runStart + runLen, 8)}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < U32;
}

function dotted(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function parseOrReason(s: string): Addr | string {
  if (s.length === 0) return 'empty string';
  if (s.includes('%')) return 'zones ("%...") are not part of a routable address';
  if (s.includes(':')) return parse6(s);
  const v = parse4(s, 0);
  return typeof v === 'string' ? v : Addr.v4(v);
}

/** Dotted-quad IPv4 from index `from` to the end of s, as a uint32, or the reason it is not one. */
function parse4(s: string, from: number): number | string {
  let value = 0;
  let octets = 0;
  let octet = 0;
  let digits = 0;
  for (let i = from; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : -1;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return 'IPv4 octet with a leading zero (it would read as octal)';
      octet = octet * 10 + (c - 0x30);
      digits++;
      if (octet > 255) return 'IPv4 octet greater than 255';
    } else if (c === 0x2e || c === -1) {
      if (digits === 0) return 'empty IPv4 octet';
      if (++octets > 4) return 'more than 4 IPv4 octets';
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return `unexpected character ${JSON.stringify(s[i])}`;
    }
  }
  return octets === 4 ? value : 'an IPv4 address has 4 octets';
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function parse6(s: string): Addr | string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  let n = 0;
  let ellipsis = -1;
  let i = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    i = 2;
  } else if (s.startsWith(':')) {
    return 'leading ":" without a second one';
  }
  while (i < s.length) {
    let j = i;
    let v = 0;
    while (j < s.length && j - i < 5) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < s.length && s[j] === '.') {
      if (n > 6) return 'no room for an embedded IPv4 address';
      const v4 = parse4(s, i);
      if (typeof v4 === 'string') return `embedded IPv4: ${v4}`;
      g[n++] = v4 >>> 16;
      g[n++] = v4 & 0xffff;
      i = s.length;
      break;
    }
    if (j === i) return j < s.length ? `unexpected character ${JSON.stringify(s[j])}` : 'empty group';
    if (j - i > 4) return 'group with more than 4 hex digits';
    if (n === 8) return 'more than 8 groups';
    g[n++] = v;
    i = j;
    if (i === s.length) break;
    if (s[i] !== ':') return `unexpected character ${JSON.stringify(s[i])}`;
    i++;
    if (s[i] === ':') {
      if (ellipsis >= 0) return 'more than one "::"';
      ellipsis = n;
      i++;
    } else if (i === s.length) {
      return 'trailing ":" without a second one';
    }
  }
  if (ellipsis < 0) {
    if (n !== 8) return 'fewer than 8 groups and no "::"';
  } else {
    if (n === 8) return '"::" with 8 groups already present';
    // Move the groups after "::" to the end; the ones in between are zeros.
    const tail = g.slice(ellipsis, n);
    g.fill(0, ellipsis);
    for (let k = 0; k < tail.length; k++) g[8 - tail.length + k] = tail[k];
  }
  return Addr.v6(g[0] * 65536 + g[1], g[2] * 65536 + g[3], g[4] * 65536 + g[5], g[6] * 65536 + g[7]);
}
