// Layer 2: which links can hear each other. Links and segments are the vertices; a veth pair, a bridge port and its
// bridge, and a link plugged into a segment are the edges. Each connected component is one broadcast domain, and a
// spanning tree of it (BFS, parent pointers and depths) gives the path a frame takes from one link to another — the
// ports a bridge forwards between — without searching at trace time. Real L2 domains are trees (or STP makes them so).

interface Wired {
  readonly id: number;
  readonly peer: number;
  readonly master: number;
  readonly segment: number;
  readonly proxyArp: boolean;
  readonly proxyNdp: readonly unknown[];
}

/**
 * Ints per vertex in the records L2 shares with the fabric. L2 writes its part from TREE on: the parent in the domain's
 * spanning tree (-1 at the root), the depth, the domain (its root), and for a link whose domain is it and one other link
 * (a veth pair, neither end in a bridge or on a segment) that other link, else -1. The fabric keeps a link's other facts before it, in
 * the same 32 bytes: a trace reads one cache line for each link it crosses, not one per array. A segment's record holds
 * L2's part only.
 */
export const RECORD = 8;
const TREE = 4;
const PARENT = TREE;
const DEPTH = TREE + 1;
const DOMAIN = TREE + 2;
const PAIR = TREE + 3;

export class L2 {
  /** Per domain root: the first link in the domain that answers ARP by proxy; chained through proxyNext. */
  private readonly proxyHead: Int32Array;
  private readonly proxyNext: Int32Array;
  /** The same for the links with proxy NDP entries. */
  private readonly ndpHead: Int32Array;
  private readonly ndpNext: Int32Array;
  /** How many vertices (links and segments) there are: the longest path there can be. */
  readonly vertices: number;

  /** `records` holds RECORD ints for every link and then every segment. */
  constructor(
    links: readonly Wired[],
    segmentCount: number,
    private readonly records: Int32Array,
  ) {
    const n = links.length + segmentCount;
    const degree = new Int32Array(n + 1);
    const edges: number[] = [];
    const edge = (a: number, b: number) => {
      edges.push(a, b);
      degree[a]!++;
      degree[b]!++;
    };
    for (const l of links) {
      if (l.peer > l.id) edge(l.id, l.peer);
      if (l.master >= 0) edge(l.id, l.master);
      if (l.segment >= 0) edge(l.id, links.length + l.segment);
    }
    // Compressed adjacency lists.
    const start = new Int32Array(n + 1);
    for (let v = 0; v < n; v++) start[v + 1] = start[v]! + degree[v]!;
    const fill = start.slice(0, n);
    const adj = new Int32Array(edges.length);
    for (let i = 0; i < edges.length; i += 2) {
      const a = edges[i]!;
      const b = edges[i + 1]!;
      adj[fill[a]!++] = b;
      adj[fill[b]!++] = a;
    }

    this.vertices = n;
    const t = records;
    for (let v = 0; v < n; v++) {
      t[v * RECORD + PARENT] = -1;
      t[v * RECORD + DEPTH] = 0;
      t[v * RECORD + DOMAIN] = -1;
      t[v * RECORD + PAIR] = -1;
    }
    const queue = new Int32Array(n);
    for (let root = 0; root < n; root++) {
      if (t[root * RECORD + DOMAIN]! >= 0) continue;
      t[root * RECORD + DOMAIN] = root;
      let head = 0;
      let tail = 0;
      queue[tail++] = root;
      while (head < tail) {
        const v = queue[head++]!;
        for (let i = start[v]!; i < start[v + 1]!; i++) {
          const w = adj[i]!;
          if (t[w * RECORD + DOMAIN]! >= 0) continue;
          t[w * RECORD + DOMAIN] = root;
          t[w * RECORD + PARENT] = v;
          t[w * RECORD + DEPTH] = t[v * RECORD + DEPTH]! + 1;
          queue[tail++] = w;
        }
      }
    }

    // A domain of two vertices is a root and its one child; both must be links to be a pair.
    const size = new Int32Array(n);
    for (let v = 0; v < n; v++) size[t[v * RECORD + DOMAIN]!]!++;
    for (let v = 0; v < links.length; v++) {
      const parent = t[v * RECORD + PARENT]!;
      if (parent >= 0 && parent < links.length && size[t[v * RECORD + DOMAIN]!] === 2) {
        t[v * RECORD + PAIR] = parent;
        t[parent * RECORD + PAIR] = v;
      }
    }

    this.proxyHead = new Int32Array(n).fill(-1);
    this.proxyNext = new Int32Array(links.length).fill(-1);
    this.ndpHead = new Int32Array(n).fill(-1);
    this.ndpNext = new Int32Array(links.length).fill(-1);
    for (let i = links.length - 1; i >= 0; i--) {
      const d = this.domain(i);
      if (links[i]!.proxyArp) {
        this.proxyNext[i] = this.proxyHead[d]!;
        this.proxyHead[d] = i;
      }
      if (links[i]!.proxyNdp.length > 0) {
        this.ndpNext[i] = this.ndpHead[d]!;
        this.ndpHead[d] = i;
      }
    }
  }

  domain(link: number): number {
    return this.records[link * RECORD + DOMAIN]!;
  }

  /** The other link of a domain of two links (a veth pair on its own), or -1. */
  pair(link: number): number {
    return this.records[link * RECORD + PAIR]!;
  }

  /** The first link of the domain that answers ARP by proxy, or -1; the next one is proxyAfter(link). */
  firstProxy(domain: number): number {
    return this.proxyHead[domain]!;
  }

  proxyAfter(link: number): number {
    return this.proxyNext[link]!;
  }

  /** The first link of the domain with proxy NDP entries, or -1; the next one is ndpProxyAfter(link). */
  firstNdpProxy(domain: number): number {
    return this.ndpHead[domain]!;
  }

  ndpProxyAfter(link: number): number {
    return this.ndpNext[link]!;
  }

  /**
   * Writes the vertices a frame crosses from link a to link b, both included, into `out` (segments appear as vertex ids
   * ≥ the link count) and returns how many there are, or -1 when a and b are not in one domain. `out` must hold
   * `vertices` ints; each walk brings its own, so tracing allocates no arrays for paths and two traces never share one.
   */
  path(a: number, b: number, out: Int32Array): number {
    const t = this.records;
    if (t[a * RECORD + DOMAIN] !== t[b * RECORD + DOMAIN]) return -1;
    // Climb from a to the common ancestor writing forwards, from b writing backwards from the end; then close the gap.
    let n = 0;
    let m = out.length;
    let x = a;
    let y = b;
    while (t[x * RECORD + DEPTH]! > t[y * RECORD + DEPTH]!) {
      out[n++] = x;
      x = t[x * RECORD + PARENT]!;
    }
    while (t[y * RECORD + DEPTH]! > t[x * RECORD + DEPTH]!) {
      out[--m] = y;
      y = t[y * RECORD + PARENT]!;
    }
    while (x !== y) {
      out[n++] = x;
      out[--m] = y;
      x = t[x * RECORD + PARENT]!;
      y = t[y * RECORD + PARENT]!;
    }
    out[n++] = x;
    // A loop, not copyWithin: the tail is a few ints, and the builtin's call costs more than moving them.
    for (let i = m; i < out.length; i++) out[n++] = out[i]!;
    return n;
  }
}
