// Which branch of an ECMP route a flow takes, as Linux picks it (IPv4: fib_multipath_hash and fib_select_multipath;
// IPv6: rt6_multipath_hash and fib6_select_path). The flow's keys are laid out as the kernel's struct flow_keys, put in
// a canonical direction (__flow_hash_consistentify), hashed with SipHash-2-4 keyed by the netns's
// net.ipv4.fib_multipath_hash_seed (Linux >= 6.11; IPv6 uses the same key), and shifted to 31 bits; each next hop owns a
// slice of that space in proportion to its weight (nh_upper_bound), and the first slice the hash falls in wins.
//
// The branch is the kernel's only where every input is known. Without a seed the key is drawn at boot. Some lookups hash
// inputs no document holds (see Unknown): then the answer lists every branch instead of naming one.
import { Addr } from './addr.js';
import { Prefix } from './prefix.js';
import type { Link, Netns } from './fabric.js';
import type { NextHop, Route } from './route.js';
import type { Hop, Step, Trace } from './trace.js';

/** fib_multipath_hash_policy: 0 (l3) hashes the addresses; 1 (l4) adds the protocol and both ports. */
export type HashPolicy = 'l3' | 'l4';

/** The transport fields of a flow, as a lookup hashes them (IP protocol number; ports 0 where the flow has none). */
export interface FlowKeys {
  readonly protocol: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

export const IP_PROTOCOL = { icmp: 1, tcp: 6, udp: 17, sctp: 132, icmpv6: 58, ipip: 4 } as const;

// ---- SipHash-2-4 on 32-bit halves: the state is eight int32s in module variables, so hashing allocates nothing ----

let v0h = 0;
let v0l = 0;
let v1h = 0;
let v1l = 0;
let v2h = 0;
let v2l = 0;
let v3h = 0;
let v3l = 0;

/** One SipRound. A 64-bit add is two 32-bit adds with the carry; rotations by 32 swap the halves. */
function sipRound(): void {
  let lo = (v0l >>> 0) + (v1l >>> 0);
  v0h = (v0h + v1h + (lo > 0xffffffff ? 1 : 0)) | 0;
  v0l = lo | 0;
  let h = (v1h << 13) | (v1l >>> 19);
  v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
  v1h = h ^ v0h;
  h = v0h;
  v0h = v0l;
  v0l = h;
  lo = (v2l >>> 0) + (v3l >>> 0);
  v2h = (v2h + v3h + (lo > 0xffffffff ? 1 : 0)) | 0;
  v2l = lo | 0;
  h = (v3h << 16) | (v3l >>> 16);
  v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
  v3h = h ^ v2h;
  lo = (v0l >>> 0) + (v3l >>> 0);
  v0h = (v0h + v3h + (lo > 0xffffffff ? 1 : 0)) | 0;
  v0l = lo | 0;
  h = (v3h << 21) | (v3l >>> 11);
  v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
  v3h = h ^ v0h;
  lo = (v2l >>> 0) + (v1l >>> 0);
  v2h = (v2h + v1h + (lo > 0xffffffff ? 1 : 0)) | 0;
  v2l = lo | 0;
  h = (v1h << 17) | (v1l >>> 15);
  v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
  v1h = h ^ v2h;
  h = v2h;
  v2h = v2l;
  v2l = h;
}

/**
 * The low 32 bits of SipHash-2-4 (as the kernel's u32 of siphash()) of words[0 .. n), n even, each word the
 * little-endian reading of four message bytes, under the key the kernel builds from a multipath seed
 * (fib_multipath_hash_construct_key: both key halves are seed:seed).
 */
function siphash(n: number, seed: number): number {
  v0h = 0x736f6d65 ^ seed;
  v0l = 0x70736575 ^ seed;
  v1h = 0x646f7261 ^ seed;
  v1l = 0x6e646f6d ^ seed;
  v2h = 0x6c796765 ^ seed;
  v2l = 0x6e657261 ^ seed;
  v3h = 0x74656462 ^ seed;
  v3l = 0x79746573 ^ seed;
  for (let i = 0; i < n; i += 2) {
    const ml = words[i]!;
    const mh = words[i + 1]!;
    v3l ^= ml;
    v3h ^= mh;
    sipRound();
    sipRound();
    v0l ^= ml;
    v0h ^= mh;
  }
  // The last block: the length in the top byte; the message is whole 8-byte blocks, so no tail bytes.
  const bh = (n * 4) << 24;
  v3h ^= bh;
  sipRound();
  sipRound();
  v0h ^= bh;
  v2l ^= 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

/**
 * struct flow_keys from its `basic` member on, as 32-bit little-endian words: basic (n_proto 0, ip_proto, padding),
 * tags (flow label), vlan and cvlan (8 bytes each), keyid, ports, icmp, then the addresses and the struct's 4 bytes of
 * tail padding: 12 words for IPv4, 18 for IPv6 (flow_keys_hash_length).
 */
const words = new Int32Array(18);
const ADDRS = 9;

const bswap32 = (x: number) => ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) | 0;
const bswap16 = (x: number) => ((x >>> 8) | ((x & 0xff) << 8)) & 0xffff;

/** Whether IPv6 address a is below b, as memcmp orders them. */
function below6(a: Addr, b: Addr): boolean {
  if (a.w0 !== b.w0) return a.w0 < b.w0;
  if (a.w1 !== b.w1) return a.w1 < b.w1;
  if (a.w2 !== b.w2) return a.w2 < b.w2;
  return a.w3 < b.w3;
}

/**
 * The hash fib_multipath_hash (IPv4) or rt6_multipath_hash (IPv6) computes for an output lookup under `seed`: 31 bits.
 * Policy l3 reads the addresses (and for IPv6 also the flow label and next header); l4 the addresses, protocol and
 * ports. Keys are sorted into one direction first, the lower address (and, separately, the lower port as the bytes
 * read on a little-endian machine) as the source, so both directions of a connection hash alike.
 */
export function multipathHash(seed: number, policy: HashPolicy, src: Addr, dst: Addr, keys: FlowKeys, flowLabel = 0): number {
  words.fill(0);
  const v6 = src.family === 6;
  let protocol = 0;
  let srcPort = 0;
  let dstPort = 0;
  if (policy === 'l4') {
    protocol = keys.protocol;
    srcPort = bswap16(keys.srcPort);
    dstPort = bswap16(keys.dstPort);
  } else if (v6) {
    protocol = keys.protocol;
    words[1] = bswap32(flowLabel & 0xfffff);
  }
  words[0] = protocol << 16;
  if (dstPort < srcPort) words[7] = srcPort << 16 | dstPort;
  else words[7] = dstPort << 16 | srcPort;
  if (!v6) {
    const s = bswap32(src.w0);
    const d = bswap32(dst.w0);
    const swap = d >>> 0 < s >>> 0;
    words[ADDRS] = swap ? d : s;
    words[ADDRS + 1] = swap ? s : d;
    return hashOf(12, seed);
  }
  const swap = below6(dst, src);
  const lo = swap ? dst : src;
  const hi = swap ? src : dst;
  words[ADDRS] = bswap32(lo.w0);
  words[ADDRS + 1] = bswap32(lo.w1);
  words[ADDRS + 2] = bswap32(lo.w2);
  words[ADDRS + 3] = bswap32(lo.w3);
  words[ADDRS + 4] = bswap32(hi.w0);
  words[ADDRS + 5] = bswap32(hi.w1);
  words[ADDRS + 6] = bswap32(hi.w2);
  words[ADDRS + 7] = bswap32(hi.w3);
  return hashOf(18, seed);
}

/** __flow_hash_from_keys never returns 0 (it gives 1 instead); the multipath hash is that shifted right by one. */
function hashOf(n: number, seed: number): number {
  return (siphash(n, seed) || 1) >>> 1;
}

/**
 * The upper bound of the next hop whose weights, with those before it, add up to `cumulative` out of `total`: as
 * fib_rebalance and rt6_upper_bound compute it, DIV_ROUND_CLOSEST_ULL(cumulative << 31, total) - 1. Exact in doubles,
 * since cumulative << 31 stays far below 2^53.
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

/**
 * The next hop (index) a 31-bit hash selects. `preferred` is a bit mask of the next hops whose source address is the
 * packet's: an IPv4 output lookup with a source prefers them (fib_select_multipath scores a next hop 2 for its source and
 * 1 for the hash falling in its slice, and takes the first of the highest score); 0 for a lookup without one, and for IPv6.
 */
export function selectNexthop(nexthops: readonly Pick<NextHop, 'weight'>[], hash: number, preferred = 0): number {
  let total = 0;
  for (const nh of nexthops) total += nh.weight;
  let cumulative = 0;
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < nexthops.length; i++) {
    cumulative += nexthops[i]!.weight;
    const score = (((preferred >>> i) & 1) << 1) + (hash <= upperBound(cumulative, total) ? 1 : 0);
    if (score > bestScore) {
      best = i;
      bestScore = score;
      if (score === 3) break;
    }
  }
  return best;
}

/** Why the kernel's branch at an ECMP route cannot be named from the document. */
export type Unknown =
  /** The netns has no multipathHashSeed: the kernel keys the hash with a secret drawn at boot. */
  | 'seed'
  /** Policy l4 hashes the ports, and the flow gives none (ICMP, or no source port). */
  | 'ports'
  /** IPv6 policy l3 on a forwarded packet hashes its flow label, which the sending kernel draws per connection. */
  | 'flow-label'
  /** Policy l4 on a forwarded packet takes the hash the packet arrived with (its socket's, or the NIC's) when it has one. */
  | 'receive-hash'
  /** Policy l4 on a VXLAN or Geneve packet hashes its outer UDP source port, a hash of the inner flow under a boot key. */
  | 'tunnel-source-port'
  /** An IP-in-IP tunnel mixes the inner packet's hash (per boot or per socket) into the outer lookup. */
  | 'ipip';

export interface EcmpDecision {
  readonly netns: Netns;
  readonly route: Route;
  /** The next hop taken, an index into route.nexthops. */
  readonly nexthop: number;
  readonly policy: HashPolicy;
}

export interface HashedBranch {
  /** The index into trace.paths of the path the kernel takes; undefined when a branch is unknown or past the path limit. */
  readonly path: number | undefined;
  /** The ECMP routes on that path and the next hop the kernel takes at each, up to the first it cannot name. */
  readonly decisions: readonly EcmpDecision[];
  /** The first ECMP route whose branch depends on what the document does not hold, and why. */
  readonly unknown: { readonly netns: Netns; readonly route: Route; readonly policy: HashPolicy; readonly reason: Unknown } | undefined;
}

/** One ECMP lookup of a path, with what decides how the kernel hashes it. */
export interface EcmpLookup {
  readonly netns: Netns;
  readonly route: Route;
  /** The next hop this path takes. */
  readonly nexthop: number;
  /** The packet looked up: the flow's, or inside a tunnel the outer one. */
  readonly src: Addr;
  readonly dst: Addr;
  /** An output lookup (the netns sends the packet: the flow at its source, or a tunnel's outer packet) or a forwarded one. */
  readonly output: boolean;
  /** The link a forwarded packet came in by (`ip route get … iif`); undefined for an output lookup. */
  readonly iif: Link | undefined;
  /** The tunnel whose outer packet this is: its protocol, and whether its link names the outer source (`local`). */
  readonly outer: { readonly protocol: 'udp' | 'ipip'; readonly local: boolean } | undefined;
}

/** The ECMP lookups of a path, in the order the packet meets them. */
export function ecmpLookups(hops: readonly Hop[]): EcmpLookup[] {
  const lookups: EcmpLookup[] = [];
  // Each tunnel the packet is inside, innermost last; `fresh` until its outer packet's first lookup, the sender's.
  const tunnels: { protocol: 'udp' | 'ipip'; local: boolean; fresh: boolean }[] = [];
  const originated = hops[0]?.steps[0]?.type === 'ORIGINATE';
  let first = true;
  let iif: Link | undefined;
  for (const hop of hops) {
    for (const step of hop.steps) {
      if (step.type === 'RECEIVE') iif = step.link;
      else if (step.type === 'ENCAPSULATE') tunnels.push({ protocol: step.outer.protocol, local: step.link.tunnel?.local !== undefined, fresh: true });
      else if (step.type === 'DECAPSULATE') {
        tunnels.pop();
        iif = step.link;
      } else if (step.type === 'ROUTE') lookupOf(step);
    }
  }
  return lookups;

  function lookupOf(step: Extract<Step, { type: 'ROUTE' }>): void {
    const tunnel = tunnels.at(-1);
    const output = tunnel === undefined ? first && originated : tunnel.fresh;
    if (tunnel === undefined) first = false;
    else tunnel.fresh = false;
    if (step.route === undefined || !step.route.ecmp) return;
    const outer = tunnel && { protocol: tunnel.protocol, local: tunnel.local };
    lookups.push({ netns: step.netns, route: step.route, nexthop: step.nexthop, src: step.src, dst: step.dst, output, iif: output ? undefined : iif, outer });
  }
}

const ANY4 = Addr.v4(0);
const ANY6 = Addr.v6(0, 0, 0, 0);
const LOOPBACK4 = Prefix.parse('127.0.0.0/8');

/**
 * The next hop the kernel's hash takes at an ECMP lookup under the netns's seed and policy, for a packet that carries no
 * hash of its own and no flow label (what `ip route get <dst> from <src> [iif <dev>] ipproto … sport … dport …`
 * computes), or why the document cannot tell: the seed is missing, or (`strict`) the real packet hashes more than that.
 * `keys` are the flow's transport fields; a tunnel's outer packet hashes only its addresses, and its protocol under IPv6.
 */
export function kernelNexthop(lookup: EcmpLookup, keys: FlowKeys, strict: boolean): number | Unknown {
  const { netns, route, output, outer } = lookup;
  const policy: HashPolicy = netns.multipathHashPolicy === 1 ? 'l4' : 'l3';
  const seed = netns.multipathHashSeed;
  if (seed === undefined) return 'seed';
  const v6 = lookup.dst.family === 6;
  if (strict) {
    if (outer?.protocol === 'ipip' && output) return 'ipip';
    if (policy === 'l4' && !output) return 'receive-hash';
    if (policy === 'l4' && outer !== undefined) return 'tunnel-source-port';
    if (v6 && !output) return 'flow-label';
  }
  if (policy === 'l4' && outer === undefined && (keys.srcPort === 0 || keys.dstPort === 0)) return 'ports';
  // A tunnel that names no local address routes its outer packet from "any" (saddr 0); the source follows the route.
  const src = outer !== undefined && output && !outer.local ? (v6 ? ANY6 : ANY4) : lookup.src;
  const hashed = outer === undefined ? keys : outer.protocol === 'udp' ? OUTER_UDP : OUTER_IPIP;
  const hash = multipathHash(seed, policy, src, lookup.dst, hashed);
  // An IPv4 output lookup with a source prefers the next hops that would give that source (fib_select_multipath).
  return selectNexthop(route.nexthops, hash, output && !v6 && src !== ANY4 ? sourceMask(netns, route, src) : 0);
}

const OUTER_UDP: FlowKeys = { protocol: IP_PROTOCOL.udp, srcPort: 0, dstPort: 0 };
const OUTER_IPIP: FlowKeys = { protocol: IP_PROTOCOL.ipip, srcPort: 0, dstPort: 0 };

/**
 * The next hops whose source address (nh_saddr: inet_select_addr on their device, the first primary address in the
 * gateway's subnet, else the first; a device without one borrows the netns's first) is `src`, as a bit mask.
 */
function sourceMask(netns: Netns, route: Route, src: Addr): number {
  let mask = 0;
  route.nexthops.forEach((nh, i) => {
    const own = netns.links[nh.dev]!.addrs.filter((a) => a.addr.family === 4 && !LOOPBACK4.contains(a.addr));
    const primary = own.filter((a, j) => !own.slice(0, j).some((b) => b.prefix.contains(a.addr)));
    const saddr =
      primary.find((a) => nh.gateway !== undefined && a.prefix.contains(nh.gateway))?.addr ??
      primary[0]?.addr ??
      netns.links.flatMap((l) => l.addrs).find((a) => a.addr.family === 4 && !LOOPBACK4.contains(a.addr))?.addr;
    if (saddr?.equals(src)) mask |= 1 << i;
  });
  return mask;
}

/**
 * The path of the trace the kernel takes: the one whose every ECMP route took the next hop the kernel's hash gives the
 * flow, each netns hashing with its own seed and policy. `keys` are the flow's transport fields (ports 0 where the
 * request gives none). Undefined when no path meets an ECMP route.
 */
export function hashedBranch(t: Trace, keys: FlowKeys): HashedBranch | undefined {
  if (t.paths[0]!.choices.length === 0) return undefined;
  for (let i = 0; i < t.paths.length; i++) {
    const decisions: EcmpDecision[] = [];
    let taken = true;
    for (const lookup of ecmpLookups(t.paths[i]!.hops)) {
      const { netns, route } = lookup;
      const policy: HashPolicy = netns.multipathHashPolicy === 1 ? 'l4' : 'l3';
      const nexthop = kernelNexthop(lookup, keys, true);
      if (typeof nexthop === 'string') return { path: undefined, decisions, unknown: { netns, route, policy, reason: nexthop } };
      if (nexthop !== lookup.nexthop) {
        taken = false;
        break;
      }
      decisions.push({ netns, route, nexthop, policy });
    }
    if (taken) return { path: i, decisions, unknown: undefined };
  }
  return { path: undefined, decisions: [], unknown: undefined };
}
