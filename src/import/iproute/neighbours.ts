// Neighbours (`ip -j neigh show`) and FDB entries (`bridge -j fdb show`): the resolved entries the tracer needs for tunnel
// endpoints and for hosts outside the dumps.
import { Addr } from '../../engine/addr.js';
import type { FdbEntryDoc, NeighbourDoc } from '../../topology/schema.js';
import { LINK_LOCAL6, MAC, type Conversion, type NsRec } from './conversion.js';

export function readNeighbours(c: Conversion, ns: NsRec) {
  const neigh: NeighbourDoc[] = [];
  ns.dump.neigh?.forEach((n, j) => {
    const np = `${ns.pointer}/neigh/${j}`;
    const state = n.state ?? [];
    if (n.lladdr === undefined || !MAC.test(n.lladdr) || n.dev === undefined || !ns.byName.has(n.dev)) return;
    if (state.includes('FAILED') || state.includes('INCOMPLETE')) return;
    const a = Addr.tryParse(n.dst);
    if (a === undefined) return c.error(`${np}/dst`, `${JSON.stringify(n.dst)} is not an IPv4 or IPv6 address`);
    if (a.family === 6 && LINK_LOCAL6.contains(a)) return;
    c.origins.set(`/netns/${ns.index}/neigh/${neigh.length}`, np);
    neigh.push({ dst: a.toString(), lladdr: n.lladdr.toLowerCase(), dev: n.dev });
  });
  if (neigh.length > 0) ns.doc.neigh = neigh;

  const fdb: FdbEntryDoc[] = [];
  ns.dump.fdb?.forEach((e, j) => {
    const fp = `${ns.pointer}/fdb/${j}`;
    const dev = e.ifname ?? e.dev;
    if (e.dst === undefined) return;
    if (dev === undefined || !ns.byName.has(dev) || !MAC.test(e.mac)) return;
    const a = Addr.tryParse(e.dst);
    if (a === undefined) return c.error(`${fp}/dst`, `${JSON.stringify(e.dst)} is not an IPv4 or IPv6 address`);
    c.origins.set(`/netns/${ns.index}/fdb/${fdb.length}`, fp);
    fdb.push({ mac: e.mac.toLowerCase(), dev, dst: a.toString() });
  });
  if (fdb.length > 0) ns.doc.fdb = fdb;
}
