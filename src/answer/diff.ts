// What changed between two revisions of a topology and which pod pairs changed outcome: the answer of GET …/diff, a
// function of the two compiled revisions and their stored documents alone, so that it can run away from the event loop.
//
// Its cost follows the documents. Compilers hand one route table, neighbour list or ipcache to many netns (every node of
// a cluster holds a route per other node), so such a list is written out and compared once per pair of lists, never once
// per netns: a 5,000-node cluster's 25 million node routes are never materialised, as materialise() would.
import { Type, type Static } from '@sinclair/typebox';
import type { Fabric, IpcacheEntry, Link, Netns } from '../engine/fabric.js';
import type { Fib, RouteTable } from '../engine/fib.js';
import { ipcacheDoc, linkDoc, routeDoc } from '../engine/materialise.js';
import { reachability } from '../engine/reachability.js';
import { podKey } from '../engine/compile/bridge.js';
import type { Route } from '../engine/route.js';
import type { CompiledTopology } from '../engine/topology.js';
import type { ClusterDoc, FabricDoc } from '../topology/schema.js';
import { MAX_MATRIX_PODS, type Transport } from './matrix.js';
import { Problem } from './problem.js';

/** Changed pairs listed in full up to this many; the count is always exact. */
const MAX_LISTED_PAIRS = 1000;
/**
 * Route changes listed up to this many in all. Renumbering the underlay of N nodes changes N routes in each of N nodes:
 * listing them all would take N² strings. The netns are still all named in `netns.changed`.
 */
const MAX_LISTED_ROUTES = 10_000;

const Names = Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()), changed: Type.Array(Type.String()) });

export const PodFilter = Type.Object({
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Compare only the pairs of the pods of this namespace.', examples: ['default'] })),
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'Compare only the pairs of the pods on this node.', examples: ['node-a'] })),
});
export type PodFilter = Static<typeof PodFilter>;

export const DiffAnswer = Type.Object({
  topology: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  changes: Type.Object({
    nodes: Names,
    pods: Names,
    networkPolicies: Type.Optional(
      Type.Object(Names.properties, { description: 'NetworkPolicies by namespace/name (cluster documents); their effect is in `reachability` (for the protocol and port asked for).' }),
    ),
    adminNetworkPolicies: Type.Optional(
      Type.Object(Names.properties, {
        description:
          'AdminNetworkPolicies and the BaselineAdminNetworkPolicy by kind/name (`AdminNetworkPolicy/sre-in`, cluster ' +
          'documents); their effect is in `reachability` (ICMP).',
      }),
    ),
    services: Type.Optional(
      Type.Object(Names.properties, {
        description:
          'Services by namespace/name (cluster documents): changed when the spec or its endpoints (EndpointSlices, or v1 ' +
          'Endpoints) changed; their effect is in pod-to-Service traces and `reachability?to=services`, not in the pod pairs.',
      }),
    ),
    netns: Names,
    links: Type.Array(Type.Object({ netns: Type.String(), link: Type.String(), change: Type.String() })),
    routes: Type.Array(Type.Object({ netns: Type.String(), added: Type.Array(Type.String()), removed: Type.Array(Type.String()) })),
    routesOmitted: Type.Optional(
      Type.Integer({ description: `Netns whose route changes are not listed in \`routes\`: it lists ${MAX_LISTED_ROUTES.toLocaleString('en')} changed routes at most.` }),
    ),
  }),
  reachability: Type.Object({
    pods: Type.Integer({ description: 'Pods present in both revisions (and matching the filter), whose pairs are compared.' }),
    filter: Type.Optional(Type.Object(PodFilter.properties, { description: 'Present when only the pairs of some pods were compared.' })),
    protocol: Type.Optional(Type.String({ description: 'The protocol of the flows compared (absent: ICMP echo).' })),
    port: Type.Optional(Type.Integer({ description: 'Their destination port.' })),
    changedCount: Type.Integer(),
    changed: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), before: Type.String(), after: Type.String() })),
  }),
});
export type DiffAnswerDoc = Static<typeof DiffAnswer>;

/** A revision's document as stored, parsed. */
export type StoredDoc = { form: 'cluster'; document: ClusterDoc } | { form: 'fabric'; document: FabricDoc };

export interface DiffSide {
  revision: number;
  stored: StoredDoc;
  compiled: CompiledTopology;
}

/** The pods the filter selects, named as the compiled topology names them (as selectPods of the matrix selects them). */
function selected(stored: StoredDoc, filter: PodFilter): string[] {
  if (stored.form === 'cluster') {
    return (stored.document.pods ?? [])
      .filter((p) => filter.namespace === undefined || (p.namespace ?? 'default') === filter.namespace)
      .filter((p) => filter.node === undefined || p.nodeName === filter.node)
      .map(podKey);
  }
  return stored.document.netns
    .filter((n) => n.kind === 'pod')
    .filter((n) => filter.namespace === undefined || n.name.startsWith(`${filter.namespace}/`))
    .filter((n) => filter.node === undefined || n.node === filter.node)
    .map((n) => n.name);
}

/**
 * The pods whose pairs a diff compares, in the older revision's order: read from the documents, so that a diff too large
 * is refused before anything is compiled (a 413 problem beyond MAX_MATRIX_PODS).
 */
export function podsToCompare(before: StoredDoc, after: StoredDoc, filter: PodFilter): string[] {
  const later = new Set(selected(after, filter));
  const common = selected(before, filter).filter((name) => later.has(name));
  if (common.length > MAX_MATRIX_PODS) {
    const filtered = filter.namespace !== undefined || filter.node !== undefined;
    throw new Problem(
      413,
      'payload-too-large',
      `${common.length} pods are in both revisions${filtered ? ' and match the filter' : ''}: a diff compares the pairs of at most ` +
        `${MAX_MATRIX_PODS}; ask for the pods of one namespace or node (namespace=, node=)`,
    );
  }
  return common;
}

function compare<T>(before: Map<string, T>, after: Map<string, T>) {
  const same = (a: T, b: T) => JSON.stringify(a) === JSON.stringify(b);
  return {
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
    changed: [...after.keys()].filter((k) => before.has(k) && !same(before.get(k)!, after.get(k)!)).sort(),
  };
}

/** Entries of a list written as text, each with what the comparison needs of it. */
type Listed<T> = ReadonlyMap<string, T>;

interface Changes<T> {
  added: [string, T][];
  removed: [string, T][];
}

/**
 * Lists shared by many netns, each written out once per naming of the devices its entries refer to (the text names
 * them), and compared once per pair.
 */
class Listing<L extends object, T> {
  private readonly written = new Map<L, Map<string, Listed<T>>>();
  private readonly devices = new Map<L, number[]>();
  private readonly compared = new Map<Listed<T>, Map<Listed<T>, Changes<T>>>();

  constructor(
    private readonly devsOf: (list: L) => Iterable<number>,
    private readonly entries: (list: L, ns: Netns) => Iterable<[string, T]>,
  ) {}

  of(list: L, ns: Netns): Listed<T> {
    let devs = this.devices.get(list);
    if (devs === undefined) this.devices.set(list, (devs = [...new Set(this.devsOf(list))]));
    const naming = devs.map((d) => ns.links[d]?.name).join('\n');
    let byNaming = this.written.get(list);
    if (byNaming === undefined) this.written.set(list, (byNaming = new Map()));
    let listed = byNaming.get(naming);
    if (listed === undefined) byNaming.set(naming, (listed = new Map(this.entries(list, ns))));
    return listed;
  }

  changes(a: Listed<T>, b: Listed<T>): Changes<T> {
    let withA = this.compared.get(a);
    if (withA === undefined) this.compared.set(a, (withA = new Map()));
    let found = withA.get(b);
    if (found === undefined) {
      found = { added: [...b].filter(([text]) => !a.has(text)), removed: [...a].filter(([text]) => !b.has(text)) };
      withA.set(b, found);
    }
    return found;
  }
}

const NO_ROUTES: Listed<string> = new Map();
const NO_IPCACHE: readonly IpcacheEntry[] = [];
const prefixOf = (r: Route) => r.prefix.toString();

/** The routes of a FIB as materialise() lists them: its own table, and the shared table's where no own route shadows it. */
interface RouteView {
  own: Listed<string>;
  /** Every prefix of the own table, connected ones included (they shadow the shared table but are not listed). */
  shadowed: ReadonlySet<string>;
  shared: Listed<string>;
  table: RouteTable | undefined;
}

class Routes {
  private readonly listing = new Listing<RouteTable, string>(
    (t) => t.groups.flatMap((g) => g.flatMap((r) => r.nexthops.map((n) => n.dev))),
    function* (t, ns) {
      for (const g of t.groups) for (const r of g) if (r.protocol !== 'kernel') yield [JSON.stringify(routeDoc(r, ns)), prefixOf(r)];
    },
  );
  private readonly byPrefix = new Map<RouteTable, Map<string, readonly Route[]>>();

  view(fib: Fib, ns: Netns): RouteView {
    return {
      own: this.listing.of(fib.own, ns),
      shadowed: new Set(fib.own.groups.map((g) => prefixOf(g[0]!))),
      shared: fib.shared === undefined ? NO_ROUTES : this.listing.of(fib.shared, ns),
      table: fib.shared,
    };
  }

  private sharedRoutes(table: RouteTable | undefined, prefix: string): readonly Route[] {
    if (table === undefined) return [];
    let index = this.byPrefix.get(table);
    if (index === undefined) this.byPrefix.set(table, (index = new Map(table.groups.map((g) => [prefixOf(g[0]!), g]))));
    return index.get(prefix) ?? [];
  }

  /**
   * The routes `x` lists and `y` does not, up to `room` of them. Only what can differ is looked at: `x`'s own routes, its
   * shared routes that `y`'s shared table lacks, and those of its shared routes that `y` shadows and `x` does not.
   */
  onlyIn(x: RouteView, xns: Netns, y: RouteView, room: number): string[] {
    const has = (v: RouteView, text: string) => v.own.has(text) || (v.shared.has(text) && !v.shadowed.has(v.shared.get(text)!));
    const found = new Set<string>();
    const consider = (text: string) => {
      if (found.size < room && !has(y, text)) found.add(text);
    };
    for (const text of x.own.keys()) consider(text);
    const shared = this.listing.changes(y.shared, x.shared).added;
    for (let i = 0; i < shared.length && found.size < room; i++) if (!x.shadowed.has(shared[i]![1])) consider(shared[i]![0]);
    for (const prefix of y.shadowed) {
      if (x.shadowed.has(prefix)) continue;
      for (const r of this.sharedRoutes(x.table, prefix)) if (r.protocol !== 'kernel') consider(JSON.stringify(routeDoc(r, xns)));
    }
    return [...found];
  }
}

/** A neighbour or FDB entry, by what tells whether it is a netns's entry for itself. */
interface Entry {
  dst: string;
  mac?: string;
}

const neighbourLists = () => ({
  neigh: new Listing<Netns['neigh'], Entry>(
    (list) => list.map((n) => n.dev),
    function* (list, ns) {
      for (const n of list) yield [`${n.dst} ${n.lladdr} ${ns.links[n.dev]!.name}`, { dst: n.dst.toString() }];
    },
  ),
  fdb: new Listing<Netns['fdb'], Entry>(
    (list) => list.map((e) => e.dev),
    function* (list, ns) {
      for (const e of list) yield [`${e.mac} ${ns.links[e.dev]!.name} ${e.dst}`, { dst: e.dst.toString(), mac: e.mac }];
    },
  ),
});

/**
 * Whether the neighbour or FDB entries differ as materialise() writes them: without the entries of a netns for its own
 * addresses and MACs (compilers share one list among all nodes).
 */
function neighboursDiffer(lists: ReturnType<typeof neighbourLists>, na: Netns, nb: Netns): boolean {
  const own = (ns: Netns) => {
    const addrs = new Set(ns.links.flatMap((l) => l.addrs.map((a) => a.addr.toString())));
    const macs = new Set(ns.links.flatMap((l) => (l.mac === undefined ? [] : [l.mac])));
    return (e: Entry) => addrs.has(e.dst) || (e.mac !== undefined && macs.has(e.mac));
  };
  const differs = <L extends object>(listing: Listing<L, Entry>, la: L, lb: L) => {
    const { added, removed } = listing.changes(listing.of(la, na), listing.of(lb, nb));
    return (added.length > 0 && added.some(([, e]) => !own(nb)(e))) || (removed.length > 0 && removed.some(([, e]) => !own(na)(e)));
  };
  return differs(lists.neigh, na.neigh, nb.neigh) || differs(lists.fdb, na.fdb, nb.fdb);
}

function fabricChanges(a: Fabric, b: Fabric): Pick<DiffAnswerDoc['changes'], 'netns' | 'links' | 'routes' | 'routesOmitted'> {
  const routes = new Routes();
  const lists = neighbourLists();
  const ipcaches = new Listing<readonly IpcacheEntry[], true>(
    () => [],
    (list) => ipcacheDoc(list).map((e) => [JSON.stringify(e), true]),
  );
  const ipcacheChanged = (na: Netns, old: Link, nb: Netns, l: Link) => {
    const { added, removed } = ipcaches.changes(ipcaches.of(old.tunnel?.ipcache ?? NO_IPCACHE, na), ipcaches.of(l.tunnel?.ipcache ?? NO_IPCACHE, nb));
    return added.length + removed.length > 0;
  };
  const netns = {
    added: b.netns.filter((n) => !a.byName.has(n.name)).map((n) => n.name),
    removed: a.netns.filter((n) => !b.byName.has(n.name)).map((n) => n.name),
    changed: [] as string[],
  };
  const links: DiffAnswerDoc['changes']['links'] = [];
  const routeChanges: DiffAnswerDoc['changes']['routes'] = [];
  let listedRoutes = 0;
  let routesOmitted = 0;
  for (const nb of b.netns) {
    const na = a.byName.get(nb.name);
    if (na === undefined) continue;
    const linksBefore = links.length;
    const la = new Map(na.links.map((l) => [l.name, l]));
    for (const l of nb.links) {
      const old = la.get(l.name);
      if (old === undefined) links.push({ netns: nb.name, link: l.name, change: 'added' });
      else if (old.up !== l.up) links.push({ netns: nb.name, link: l.name, change: l.up ? 'up' : 'down' });
      else if (JSON.stringify(linkDoc(a, na, old)) !== JSON.stringify(linkDoc(b, nb, l)) || ipcacheChanged(na, old, nb, l)) {
        links.push({ netns: nb.name, link: l.name, change: 'changed' });
      }
    }
    const lb = new Set(nb.links.map((l) => l.name));
    for (const l of na.links) if (!lb.has(l.name)) links.push({ netns: nb.name, link: l.name, change: 'removed' });
    if (na.forwarding !== nb.forwarding) links.push({ netns: nb.name, link: '', change: nb.forwarding ? 'forwarding on' : 'forwarding off' });

    // Past the listing's limit, one route tells that the netns changed.
    const room = Math.max(1, MAX_LISTED_ROUTES - listedRoutes);
    const [a4, a6, b4, b6] = [routes.view(na.fib4, na), routes.view(na.fib6, na), routes.view(nb.fib4, nb), routes.view(nb.fib6, nb)];
    const added = [...routes.onlyIn(b4, nb, a4, room), ...routes.onlyIn(b6, nb, a6, room)];
    const removed = [...routes.onlyIn(a4, na, b4, room), ...routes.onlyIn(a6, na, b6, room)];
    const routesChanged = added.length + removed.length > 0;
    if (routesChanged && listedRoutes < MAX_LISTED_ROUTES) {
      routeChanges.push({ netns: nb.name, added, removed });
      listedRoutes += added.length + removed.length;
    } else if (routesChanged) {
      routesOmitted++;
    }
    if (links.length > linksBefore || routesChanged || na.kind !== nb.kind || na.node !== nb.node || neighboursDiffer(lists, na, nb)) {
      netns.changed.push(nb.name);
    }
  }
  const sorted = (names: string[]) => names.sort();
  return {
    netns: { added: sorted(netns.added), removed: sorted(netns.removed), changed: sorted(netns.changed) },
    links,
    routes: routeChanges,
    ...(routesOmitted > 0 ? { routesOmitted } : {}),
  };
}

function pairChanges(a: CompiledTopology, b: CompiledTopology, pods: readonly string[], transport: Transport): Omit<DiffAnswerDoc['reachability'], 'filter'> {
  const ma = reachability(a, pods.map((name) => a.resolve(name, 'source')), transport);
  const mb = reachability(b, pods.map((name) => b.resolve(name, 'source')), transport);
  const n = pods.length;
  const changed: DiffAnswerDoc['reachability']['changed'] = [];
  let changedCount = 0;
  for (let i = 0; i < n * n; i++) {
    if (ma.cells[i] === mb.cells[i]) continue;
    changedCount++;
    if (changed.length < MAX_LISTED_PAIRS) {
      changed.push({ from: pods[Math.floor(i / n)]!, to: pods[i % n]!, before: ma.cells[i] ?? 'NONE', after: mb.cells[i] ?? 'NONE' });
    }
  }
  return {
    pods: n,
    ...(transport.protocol !== undefined ? { protocol: transport.protocol } : {}),
    ...(transport.dstPort !== undefined ? { port: transport.dstPort } : {}),
    changedCount,
    changed,
  };
}

/**
 * Each Service's spec with its endpoints, sorted: an EndpointSlice's name is random and its endpoints' order is the
 * controller's, so a Service is changed only when what kube-proxy would program for it is.
 */
function servicesOf(c: ClusterDoc): Map<string, unknown> {
  const key = (namespace: string | undefined, name: string) => `${namespace ?? 'default'}/${name}`;
  const endpoints = new Map<string, string[]>();
  const add = (service: string, endpoint: unknown) => {
    let list = endpoints.get(service);
    if (list === undefined) endpoints.set(service, (list = []));
    list.push(JSON.stringify(endpoint));
  };
  for (const slice of c.endpointSlices ?? []) {
    const service = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (service === undefined) continue;
    for (const e of slice.endpoints ?? []) add(key(slice.metadata.namespace, service), { e, ports: slice.ports });
  }
  for (const ep of c.endpoints ?? []) for (const subset of ep.subsets ?? []) add(key(ep.metadata.namespace, ep.metadata.name), subset);
  return new Map(
    (c.services ?? []).map((s) => {
      const name = key(s.metadata.namespace, s.metadata.name);
      return [name, { spec: s.spec, endpoints: (endpoints.get(name) ?? []).sort() }];
    }),
  );
}

/**
 * The differences between two revisions: nodes and pods from the cluster documents, netns, links and routes from the
 * fabrics they compile to, and the pairs of the pods in both (those the filter selects) whose outcome changed.
 */
export function diffAnswer(input: { topology: string; before: DiffSide; after: DiffSide; filter: PodFilter; transport?: Transport }): DiffAnswerDoc {
  const { before, after, filter, transport = {} } = input;
  const pods = podsToCompare(before.stored, after.stored, filter);
  const none = { added: [], removed: [], changed: [] };
  const ca = before.stored.form === 'cluster' ? before.stored.document : undefined;
  const cb = after.stored.form === 'cluster' ? after.stored.document : undefined;
  const podsOf = (c: ClusterDoc) => new Map((c.pods ?? []).map((p) => [podKey(p), p]));
  // A policy's metadata changes on every apply (resourceVersion, managedFields): its spec is what is compared.
  const policiesOf = (c: ClusterDoc) => new Map((c.networkPolicies ?? []).map((np) => [`${np.metadata.namespace ?? 'default'}/${np.metadata.name}`, np.spec]));
  const adminPoliciesOf = (c: ClusterDoc) =>
    new Map<string, unknown>([
      ...(c.adminNetworkPolicies ?? []).map((p): [string, unknown] => [`AdminNetworkPolicy/${p.metadata.name}`, p.spec]),
      ...(c.baselineAdminNetworkPolicies ?? []).map((p): [string, unknown] => [`BaselineAdminNetworkPolicy/${p.metadata.name}`, p.spec]),
    ]);
  const filtered = filter.namespace !== undefined || filter.node !== undefined;
  return {
    topology: input.topology,
    from: before.revision,
    to: after.revision,
    changes: {
      nodes: ca && cb ? compare(new Map(ca.nodes.map((n) => [n.name, n])), new Map(cb.nodes.map((n) => [n.name, n]))) : none,
      pods: ca && cb ? compare(podsOf(ca), podsOf(cb)) : none,
      ...(ca && cb ? { networkPolicies: compare(policiesOf(ca), policiesOf(cb)) } : {}),
      ...(ca && cb ? { adminNetworkPolicies: compare(adminPoliciesOf(ca), adminPoliciesOf(cb)) } : {}),
      ...(ca && cb ? { services: compare(servicesOf(ca), servicesOf(cb)) } : {}),
      ...fabricChanges(before.compiled.fabric, after.compiled.fabric),
    },
    reachability: { ...pairChanges(before.compiled, after.compiled, pods, transport), ...(filtered ? { filter } : {}) },
  };
}
