// Interface addresses ("10.1.1.5/24"): an address together with the length of the subnet it sits on, as `ip addr` shows
// them. Unlike a Prefix, the host bits are the point: they are the address.

import type { Addr } from './addr.js';
import { Prefix, parseAddrBits } from './prefix.js';

export class IfAddr {
  /** The subnet the address is on: the connected route the kernel adds when the address is configured. */
  readonly prefix: Prefix;

  private constructor(
    readonly addr: Addr,
    readonly bits: number,
    /** The kernel holds no connected route for it (`ip addr add … noprefixroute`, or the route was deleted). */
    readonly noprefixroute: boolean,
  ) {
    this.prefix = Prefix.of(addr, bits);
  }

  static of(addr: Addr, bits: number, noprefixroute = false): IfAddr {
    return new IfAddr(addr, bits, noprefixroute);
  }

  /** A bare address is a /32 or /128, as `ip addr add 10.1.1.5 dev eth0` configures it. */
  static parse(s: string, noprefixroute = false): IfAddr {
    const { addr, bits } = parseAddrBits(s, 'interface address');
    return new IfAddr(addr, bits, noprefixroute);
  }

  /** The same address: noprefixroute is about the routes, not the address. */
  equals(o: IfAddr): boolean {
    return this.bits === o.bits && this.addr.equals(o.addr);
  }

  toString(): string {
    return `${this.addr}/${this.bits}`;
  }

  toJSON(): string {
    return this.toString();
  }
}
