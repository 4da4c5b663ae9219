// Reads realised namespaces back the way an operator dumps a real node: the verbatim JSON of iproute2 and bridge, and the
// sysctls no dump shows. The dumps document built from them is what POST /v1/topologies takes as `dumps`.
import type { Fabric } from '../../src/engine/fabric.js';
import type { DumpNetnsDoc, DumpsDoc } from '../../src/topology/schema.js';
import { sh, type Realised } from './realise.js';

/** The sysctls that change a forwarding decision (what `sysctl -a -r` prints, as {name: value}). */
export const SYSCTL_PATTERN = '^net\\.ipv(4\\.(ip_forward|conf\\..*\\.(proxy_arp|forwarding|rp_filter)|fib_multipath_hash_(policy|seed))|6\\.(conf\\.(all\\.forwarding|.*\\.proxy_ndp)|fib_multipath_hash_policy))$';

export type NamespaceDump = Omit<DumpNetnsDoc, 'name' | 'kind' | 'node'>;

const json = async (args: string[]) => JSON.parse(await sh(args[0]!, args.slice(1))) as unknown[];

/** Dumps one kernel namespace with exactly the commands the README gives operators. */
export async function dumpNamespace(ns: string): Promise<NamespaceDump> {
  const [link, addr, route, route6, neigh, neighProxy, fdb, sysctl] = await Promise.all([
    json(['ip', '-n', ns, '-j', '-d', 'link', 'show']),
    json(['ip', '-n', ns, '-j', 'addr', 'show']),
    json(['ip', '-n', ns, '-j', 'route', 'show', 'table', 'all']),
    json(['ip', '-n', ns, '-6', '-j', 'route', 'show', 'table', 'all']),
    json(['ip', '-n', ns, '-j', 'neigh', 'show']),
    json(['ip', '-n', ns, '-j', 'neigh', 'show', 'proxy']),
    json(['ip', 'netns', 'exec', ns, 'bridge', '-j', 'fdb', 'show']),
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-a', '-r', SYSCTL_PATTERN]),
  ]);
  return {
    link,
    addr,
    route,
    route6,
    neigh,
    neighProxy,
    fdb,
    sysctl: Object.fromEntries(
      sysctl
        .split('\n')
        .map((line) => line.split(' = '))
        .filter((kv) => kv.length === 2)
        .map(([k, v]) => [k!.trim(), v!.trim()]),
    ),
  } as NamespaceDump;
}

/**
 * The dumps document of every realised namespace of a fabric, named as the fabric names them, with the kind (and a pod's
 * node) an operator knows. What no kernel of the dumped namespaces holds is given as an operator would: the hosts outside
 * the dumps (the realiser's upstream router), as a segment with its cidr and external addresses.
 */
export async function dumpDocument(fabric: Fabric, realised: Realised): Promise<DumpsDoc> {
  const netns = await Promise.all(
    fabric.netns.map(async (ns): Promise<DumpNetnsDoc> => ({
      name: ns.name,
      kind: ns.kind,
      ...(ns.node !== undefined ? { node: ns.node } : {}),
      ...(await dumpNamespace(realised.nsName(ns))),
    })),
  );
  const external = new Map<number, string[]>();
  for (const l of fabric.links) {
    if (l.netns >= 0 || l.segment < 0) continue;
    external.set(l.segment, [...(external.get(l.segment) ?? []), ...l.addrs.map((a) => a.addr.toString())]);
  }
  const segments = fabric.segments
    .filter((s) => external.has(s.id))
    .map((s) => ({ name: s.name, ...(s.cidr ? { cidr: s.cidr.toString() } : {}), external: external.get(s.id)! }));
  return segments.length > 0 ? { netns, segments } : { netns };
}
