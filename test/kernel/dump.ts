// Reads realised namespaces back the way an operator dumps a real node (`pathtrace dump`, whose commands these are): the
// verbatim JSON of iproute2 and bridge, and the sysctls no dump shows. The dumps document built from them is what
// POST /v1/topologies takes as `dumps`.
import type { Fabric } from '../../src/engine/fabric.js';
import type { DumpNetnsDoc, DumpsDoc } from '../../src/topology/schema.js';
import { dumpNamespace as dumpWith, type NamespaceDump } from '../../src/cli/pathtrace/dump.js';
import { sh, type Realised } from './realise.js';

/** Dumps one kernel namespace with exactly the commands the README gives operators. */
export const dumpNamespace = (ns: string): Promise<NamespaceDump> => dumpWith((argv) => sh(argv[0]!, argv.slice(1)), ns);

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
