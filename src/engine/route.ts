// A route as the kernel holds it after `ip route add`: destination, type, metric and next hops, with devices resolved to
// their index in the owning netns (numbers, so a lookup never touches a name).
import type { Addr } from './addr.js';
import type { Prefix } from './prefix.js';

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
export type Scope = 'global' | 'link' | 'host';

export interface NextHop {
  readonly gateway: Addr | undefined;
  /** Index of the egress link in its netns's `links`. */
  readonly dev: number;
  readonly onlink: boolean;
  readonly weight: number;
}

export class Route {
  constructor(
    readonly prefix: Prefix,
    readonly type: RouteType,
    readonly metric: number,
    readonly nexthops: readonly NextHop[],
    readonly scope: Scope,
    /** "kernel" for the connected routes the kernel derives from interface addresses. */
    readonly protocol: string | undefined,
    readonly prefsrc: Addr | undefined,
  ) {
    this.ecmp = nexthops.length > 1;
  }

  /** Several next hops: the kernel spreads flows over them. */
  readonly ecmp: boolean;

  /** The route in the field names of `ip -j route`, with device names looked up in its netns. */
  toJSON(devName: (dev: number) => string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.type !== 'unicast') out.type = this.type;
    out.dst = this.prefix.toRouteDst();
    const [only] = this.nexthops;
    if (this.nexthops.length === 1 && only) {
      if (only.gateway) out.gateway = only.gateway.toString();
      out.dev = devName(only.dev);
    }
    if (this.protocol) out.protocol = this.protocol;
    if (this.scope !== 'global') out.scope = this.scope;
    if (this.prefsrc) out.prefsrc = this.prefsrc.toString();
    if (this.metric !== 0) out.metric = this.metric;
    if (this.nexthops.length === 1 && only?.onlink) out.flags = ['onlink'];
    if (this.nexthops.length > 1) {
      out.nexthops = this.nexthops.map((n) => ({
        ...(n.gateway ? { gateway: n.gateway.toString() } : {}),
        dev: devName(n.dev),
        weight: n.weight,
        ...(n.onlink ? { flags: ['onlink'] } : {}),
      }));
    }
    return out;
  }
}
