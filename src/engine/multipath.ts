// Which branch of an ECMP route a flow takes, modelled on Linux's hash-threshold selection (fib_select_multipath for
// IPv4, fib6_select_path for IPv6): the flow is hashed to 31 bits, each next hop owns a slice of that space in proportion
// to its weight, and the first next hop whose upper bound is at least the hash is taken.
//
// Linux computes the hash with flow_hash_from_keys, siphash keyed with a secret drawn at boot, so nobody outside the
// kernel can predict the branch of a given flow. The hash below is a fixed stand-in (Jenkins' lookup3, as the kernel's
// jhash2, seed 0) over the same fields: it splits flows over the branches as the kernel does, but the branch it picks
// for one flow is a model, not the kernel's answer.
import type { Addr } from './addr.js';
import type { Netns } from './fabric.js';
import type { NextHop, Route } from './route.js';
import type { Hop, Trace } from './trace.js';

/**
 * fib_multipath_hash_policy: 0 (l3) hashes the source and destination addresses; 1 (l4) adds the protocol and both ports.
 * (IPv6's policy 0 also hashes the flow label and next header, which the sending socket picks: the model leaves them out.)
 */
export type HashPolicy = 'l3' | 'l4';

/** The transport fields policy l4 hashes. */
export interface L4Fields {
  readonly protocol: 'tcp' | 'udp';
  readonly srcPort: number;
  readonly dstPort: number;
}

const IP_PROTOCOL = { tcp: 6, udp: 17 } as const;

/** The words a hash reads, reused: hashing allocates nothing. */
const words = new Int32Array(10);

const rol = (x: number, k: number) => (x << k) | (x >>> (32 - k));

/** Jenkins' lookup3 hashword (the kernel's jhash2) over words[0 .. length), as an unsigned 32-bit value. */
function jhash(length: number, seed: number): number {
  let a = (0xdeadbeef + (length << 2) + seed) | 0;
  let b = a;
  let c = a;
  let i = 0;
  for (; length - i > 3; i += 3) {
    a = (a + words[i]!) | 0;
    b = (b + words[i + 1]!) | 0;
    c = (c + words[i + 2]!) | 0;
    a = (a - c) ^ rol(c, 4);
    c = (c + b) | 0;
    b = (b - a) ^ rol(a, 6);
    a = (a + c) | 0;
    c = (c - b) ^ rol(b, 8);
    b = (b + a) | 0;
    a = (a - c) ^ rol(c, 16);
    c = (c + b) | 0;
    b = (b - a) ^ rol(a, 19);
    a = (a + c) | 0;
    c = (c - b) ^ rol(b, 4);
    b = (b + a) | 0;
  }
  const rest = length - i;
  if (rest === 0) return c >>> 0;
  if (rest === 3) c = (c + words[i + 2]!) | 0;
  if (rest >= 2) b = (b + words[i + 1]!) | 0;
  a = (a + words[i]!) | 0;
  c = (c ^ b) - rol(b, 14);
  a = (a ^ c) - rol(c, 11);
  b = (b ^ a) - rol(a, 25);
  c = (c ^ b) - rol(b, 16);
  a = (a ^ c) - rol(c, 4);
  b = (b ^ a) - rol(a, 14);
  c = (c ^ b) - rol(b, 24);
  return c >>> 0;
}

/** The flow's multipath hash, 31 bits as the kernel's (fib_multipath_hash returns its hash shifted right by one). */
export function flowHash(src: Addr, dst: Addr, l4?: L4Fields): number {
  let n = 0;
  if (src.family === 4) {
    words[n++] = src.w0;
    words[n++] = dst.w0;
  } else {
    words[n++] = src.w0;
    words[n++] = src.w1;
    words[n++] = src.w2;
    words[n++] = src.w3;
    words[n++] = dst.w0;
    words[n++] = dst.w1;
    words[n++] = dst.w2;
    words[n++] = dst.w3;
  }
  if (l4 !== undefined) {
    words[n++] = IP_PROTOCOL[l4.protocol];
    // The two ports as flow_keys holds them, in one 32-bit word.
    words[n++] = (l4.srcPort << 16) | l4.dstPort;
  }
  return jhash(n, 0) >>> 1;
}

/**
 * The upper bound of the next hop whose weights, with those before it, add up to `cumulative` out of `total`: as
 * fib_rebalance computes nh_upper_bound, DIV_ROUND_CLOSEST_ULL(cumulative << 31, total) - 1. Exact in doubles, since
 * cumulative << 31 stays far below 2^53.
 */
function upperBound(cumulative: number, total: number): number {
  return Math.floor((cumulative * 0x8000_0000 + Math.floor(total / 2)) / total) - 1;
}

/** Every next hop's upper bound in the 31-bit hash space (the last is 2^31 - 1). */
export function upperBounds(nexthops: readonly Pick<NextHop, 'weight'>[]): number[] {
  const total = nexthops.reduce((sum, nh) => sum + nh.weight, 0);
  let cumulative = 0;
  return nexthops.map((nh) => upperBound((cumulative += nh.weight), total));
}

/** The next hop (index) a 31-bit hash selects: the first whose upper bound is not below it. */
export function selectNexthop(nexthops: readonly Pick<NextHop, 'weight'>[], hash: number): number {
  let total = 0;
  for (const nh of nexthops) total += nh.weight;
  let cumulative = 0;
  for (let i = 0; i < nexthops.length; i++) {
    cumulative += nexthops[i]!.weight;
    if (hash <= upperBound(cumulative, total)) return i;
  }
  // Only a hash beyond 31 bits gets here (the last bound is 2^31 - 1).
  return nexthops.length - 1;
}

export interface EcmpDecision {
  readonly netns: Netns;
  readonly route: Route;
  /** The next hop taken, an index into route.nexthops. */
  readonly nexthop: number;
}

export interface HashedBranch {
  readonly policy: HashPolicy;
  /** The index into trace.paths of the path the hash selects, or undefined when the path limit left it out. */
  readonly path: number | undefined;
  /** The ECMP routes on that path and the next hop taken at each. */
  readonly decisions: readonly EcmpDecision[];
}

/**
 * The path of the trace that hash-threshold selects for its flow: the one whose every ECMP route took the next hop the
 * flow's hash falls on. Every netns hashes the same keys (the model has no per-boot secret), so a flow hashes alike
 * wherever it is routed. Policy l4 when the transport fields are given, l3 otherwise. Undefined when no path met an ECMP
 * route.
 */
export function hashedBranch(t: Trace, l4?: L4Fields): HashedBranch | undefined {
  if (t.paths[0]!.choices.length === 0) return undefined;
  const policy: HashPolicy = l4 === undefined ? 'l3' : 'l4';
  for (let i = 0; i < t.paths.length; i++) {
    const decisions = taken(t, t.paths[i]!.hops, l4);
    if (decisions !== undefined) return { policy, path: i, decisions };
  }
  return { policy, path: undefined, decisions: [] };
}

/**
 * The ECMP decisions of a path, or undefined when one of them is not the hash's. Inside a tunnel a ROUTE step routes the
 * outer packet, between the tunnel endpoints: that lookup hashes the outer addresses, and only them, since the outer
 * source port of VXLAN is itself a hash of the inner flow.
 */
function taken(t: Trace, hops: readonly Hop[], l4: L4Fields | undefined): EcmpDecision[] | undefined {
  const { flow } = t;
  const own = flowHash(flow.src, flow.dst, l4);
  const decisions: EcmpDecision[] = [];
  for (const hop of hops) {
    for (const step of hop.steps) {
      if (step.type !== 'ROUTE' || step.route === undefined || !step.route.ecmp) continue;
      const src = (step as { readonly src?: Addr }).src ?? flow.src;
      const hash = src.equals(flow.src) && step.dst.equals(flow.dst) ? own : flowHash(src, step.dst);
      if (step.nexthop !== selectNexthop(step.route.nexthops, hash)) return undefined;
      decisions.push({ netns: step.netns, route: step.route, nexthop: step.nexthop });
    }
  }
  return decisions;
}
