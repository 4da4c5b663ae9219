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
}

export class L2 {
  /** Per vertex: the parent in its domain's spanning tree (-1 at the root), depth, and the domain (its root). */
  private readonly parent: Int32Array;
  private readonly depth: Int32Array;
  private readonly domainOf: Int32Array;
  /** Per domain root: the first link in the domain that answers ARP by proxy; chained through proxyNext. */
  private readonly proxyHead: Int32Array;
  private readonly proxyNext: Int32Array;
  /** Where path() writes; long enough for any path. */
  readonly scratch: Int32Array;

  constructor(links: readonly Wired[], segmentCount: number) {
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

    this.scratch = new Int32Array(n + 1);
    this.parent = new Int32Array(n).fill(-1);
    this.depth = new Int32Array(n);
    this.domainOf = new Int32Array(n).fill(-1);
    const queue = new Int32Array(n);
    for (let root = 0; root < n; root++) {
      if (this.domainOf[root]! >= 0) continue;
      this.domainOf[root] = root;
      let head = 0;
      let tail = 0;
      queue[tail++] = root;
      while (head < tail) {
        const v = queue[head++]!;
        for (let i = start[v]!; i < start[v + 1]!; i++) {
          const w = adj[i]!;
          if (this.domainOf[w]! >= 0) continue;
          this.domainOf[w] = root;
          this.parent[w] = v;
          this.depth[w] = this.depth[v]! + 1;
          queue[tail++] = w;
        }
      }
    }

    this.proxyHead = new Int32Array(n).fill(-1);
    this.proxyNext = new Int32Array(links.length).fill(-1);
    for (let i = links.length - 1; i >= 0; i--) {
      if (!links[i]!.proxyArp) continue;
      const d = this.domainOf[i]!;
      this.proxyNext[i] = this.proxyHead[d]!;
      this.proxyHead[d] = i;
    }
  }

  domain(link: number): number {
    return this.domainOf[link]!;
  }

  /** The first link of the domain that answers ARP by proxy, or -1; the next one is proxyAfter(link). */
  firstProxy(domain: number): number {
    return this.proxyHead[domain]!;
  }

  proxyAfter(link: number): number {
    return this.proxyNext[link]!;
  }

  /**
   * Writes the vertices a frame crosses from link a to link b, both included, into `scratch` (segments appear as vertex
   * ids ≥ the link count) and returns how many there are, or -1 when a and b are not in one domain. The buffer is reused
   * by the next call: a trace reads it before it asks for another path, so tracing allocates no arrays for paths.
   */
  path(a: number, b: number): number {
    if (this.domainOf[a] !== this.domainOf[b]) return -1;
    const out = this.scratch;
    const parent = this.parent;
    const depth = this.depth;
    // Climb from a to the common ancestor writing forwards, from b writing backwards from the end; then close the gap.
    let n = 0;
    let m = out.length;
    let x = a;
    let y = b;
    while (depth[x]! > depth[y]!) {
      out[n++] = x;
      x = parent[x]!;
    }
    while (depth[y]! > depth[x]!) {
      out[--m] = y;
      y = parent[y]!;
    }
    while (x !== y) {
      out[n++] = x;
      out[--m] = y;
      x = parent[x]!;
      y = parent[y]!;
    }
    out[n++] = x;
    out.copyWithin(n, m);
    return n + out.length - m;
  }
}
