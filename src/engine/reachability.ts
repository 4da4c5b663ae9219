// The reachability matrix: the disposition of every ordered pair of endpoints, without tracing every pair. Sources that
// the kernel cannot tell apart — the same routes, links on the same layer-2 domains in the same state — send every packet
// the same way, so one trace per class of sources and destination serves the whole class. Only a destination in a
// member's own netns (itself, or a hostNetwork pod of its node) is traced for that member alone.
import type { Fabric, Netns } from './fabric.js';
import type { Fib } from './fib.js';
import { fibRoutes, routeDoc } from './materialise.js';
import { EndpointError, type CompiledTopology, type Endpoint } from './topology.js';
import { worstPath, type Disposition, type Flow, type Trace } from './trace.js';
import { Decisions } from './policy/decisions.js';

export interface Matrix {
  readonly endpoints: readonly Endpoint[];
  /** Row-major: the disposition of endpoints[i] → endpoints[j] at i * n + j (undefined on the diagonal). */
  readonly cells: readonly (Disposition | undefined)[];
  /** How many traces it took (against n × (n − 1) pairs). */
  readonly traced: number;
  /** When asked for: which policies decided, per cell an id in `decisions` (-1: none did), at i * n + j. */
  readonly decided?: Int32Array;
  readonly decisions?: Decisions;
}

/** The outcome of a trace with ECMP: the worst of its paths, as the trace answer reports it. */
export function outcome(t: Trace): Disposition {
  return t.paths[worstPath(t.paths)]!.disposition;
}

function fibKey(fib: Fib, ns: Netns): string {
  return JSON.stringify(fibRoutes(fib).map((r) => routeDoc(r, ns)));
}

/** What the kernel of a source netns decides by: its routes, forwarding, and where each of its links leads in what state. */
function sourceKey(fabric: Fabric, ns: Netns, keys: Map<Fib, string>): string {
  const fib = (f: Fib) => {
    let k = keys.get(f);
    if (k === undefined) keys.set(f, (k = fibKey(f, ns)));
    return k;
  };
  // A link's peer state decides its carrier, so it is part of what the source is.
  const links = ns.links.map((l) => [l.name, fabric.l2.domain(l.id), l.up, l.peer < 0 || fabric.links[l.peer]!.up, l.proxyArp, l.proxyNdp.join(), l.master >= 0]);
  return JSON.stringify([ns.kind, ns.forwarding, fib(ns.fib4), fib(ns.fib6), links]);
}

export function reachability(
  compiled: CompiledTopology,
  endpoints: readonly Endpoint[],
  transport: Pick<Flow, 'protocol' | 'srcPort' | 'dstPort'> = {},
  options: { decided?: boolean } = {},
): Matrix {
  const { fabric } = compiled;
  const n = endpoints.length;
  const cells: (Disposition | undefined)[] = new Array<Disposition | undefined>(n * n).fill(undefined);
  // Only the rows, the CSV and the SVG name the deciding policies; the letters do without the n × n ids.
  const decisions = options.decided === true && fabric.policies !== undefined ? new Decisions() : undefined;
  const decided = decisions === undefined ? undefined : new Int32Array(n * n).fill(-1);
  /** The decision of the trace last made, for the cells it serves. */
  let decision = -1;
  const classes = new Map<string, number[]>();
  const fibKeys = new Map<Fib, string>();
  endpoints.forEach((e, i) => {
    if (e.netns === undefined) return;
    // The source address is not part of the key: without policy routing the kernel forwards by destination alone.
    // NetworkPolicy tells sources apart by their policies, labels, namespace and address, which the key then holds.
    const pod = fabric.policies?.podOfNetns[e.netns.id] ?? -1;
    const policyKey = pod >= 0 ? fabric.policies!.sourceKey(pod, e.v4 ?? e.addrs[0]!) : '';
    const key = sourceKey(fabric, e.netns, fibKeys) + policyKey;
    classes.set(key, [...(classes.get(key) ?? []), i]);
  });
  let traced = 0;
  // Endpoints with no address family in common have no cell.
  const trace = (from: Endpoint, to: Endpoint): Disposition | undefined => {
    traced++;
    decision = -1;
    try {
      const t = compiled.trace(from, to, 64, undefined, transport);
      const worst = t.paths[worstPath(t.paths)]!;
      if (decisions !== undefined) decision = decisions.of(worst);
      return worst.disposition;
    } catch (err) {
      if (err instanceof EndpointError) return undefined;
      throw err;
    }
  };
  for (const members of classes.values()) {
    const rep = endpoints[members[0]!]!;
    for (let j = 0; j < n; j++) {
      const to = endpoints[j]!;
      // A member whose own netns holds the destination delivers locally; every other member sends it out the same way,
      // so one of them traces for all.
      const other = to.netns === rep.netns ? members.find((i) => endpoints[i]!.netns !== to.netns) : members[0];
      const shared = other === undefined ? undefined : trace(endpoints[other]!, to);
      const sharedDecision = decision;
      for (const i of members) {
        if (i === j) continue;
        if (endpoints[i]!.netns === to.netns) {
          cells[i * n + j] = trace(endpoints[i]!, to);
          if (decided !== undefined) decided[i * n + j] = decision;
        } else {
          cells[i * n + j] = shared;
          if (decided !== undefined) decided[i * n + j] = sharedDecision;
        }
      }
    }
  }
  return { endpoints, cells, traced, ...(decided !== undefined ? { decided, decisions } : {}) };
}
