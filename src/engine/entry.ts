// Traces that do not start the usual way: a packet from a client outside the model that enters a node (or netns) by its
// uplink, as Batfish's start locations do; and a packet a node or netns sends from a source address it picks (`ip route
// get … from`), loopback included.
import type { Addr } from './addr.js';
import type { Netns } from './fabric.js';
import { EndpointError, flowOf, type CompiledTopology, type Endpoint, type Transport } from './topology.js';
import { trace, type Trace } from './trace.js';

/** The destination address of `to` in the family of `src`. */
function destination(to: Endpoint, src: Addr): Addr {
  const dst = src.family === 4 ? to.v4 : to.v6;
  if (dst === undefined) throw new EndpointError(`${to.name} has no IPv${src.family} address, and the source ${src} is IPv${src.family}`, 'family');
  return dst;
}

/**
 * The link a packet from `src` arrives at `at` by: the one `at` routes `src` out of (a client is reached the way its
 * packets come in; reverse-path filtering holds the kernel to it), else `at`'s first link.
 */
export function uplink(compiled: CompiledTopology, at: Netns, src: Addr): number {
  const { fabric } = compiled;
  const group = fabric.route(at.id, src.family, src.w0, src.w1, src.w2, src.w3);
  if (group >= 0) {
    const nh = fabric.fibs.nexthop(group, 0);
    const pinned = fabric.fibs.link(nh);
    return pinned >= 0 ? pinned : fabric.linkAt(at.id, fabric.fibs.dev(nh));
  }
  return at.links[0]?.id ?? -1;
}

/** A packet from `src`, an address outside the model, that enters `at` by its uplink. */
export function traceEntering(compiled: CompiledTopology, src: Addr, at: Endpoint, to: Endpoint, ttl: number, transport: Transport = {}): Trace {
  if (at.netns === undefined || (at.kind !== 'node' && at.kind !== 'netns')) {
    throw new EndpointError(`${at.name} is not a node or a netns: a packet from outside enters the model at one`, 'unknown');
  }
  return trace(compiled.fabric, at.netns, flowOf(src, destination(to, src), ttl, transport), compiled.services, transport.endpoint, uplink(compiled, at.netns, src));
}

const isLoopback = (a: Addr) => (a.family === 4 ? a.w0 >>> 24 === 127 : a.w0 === 0 && a.w1 === 0 && a.w2 === 0 && a.w3 === 1);

/** A packet `from` sends from its address `src` (or, for a node or netns, loopback). */
export function traceFromSource(compiled: CompiledTopology, from: Endpoint, src: Addr, to: Endpoint, ttl: number, transport: Transport = {}): Trace {
  if (from.netns === undefined) throw new EndpointError(`${from.name} is not in this topology`, 'outside');
  const { owners } = compiled.fabric;
  let own = from.kind !== 'pod' && isLoopback(src);
  for (let o = owners.first(src); o >= 0 && !own; o = owners.next(o)) if (owners.netns(o) === from.netns.id) own = true;
  if (!own) throw new EndpointError(`${src} is not an address of ${from.name}`, 'outside');
  return trace(compiled.fabric, from.netns, flowOf(src, destination(to, src), ttl, transport), compiled.services, transport.endpoint);
}
