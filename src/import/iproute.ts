// Kernel state as iproute2 prints it → the fabric form. Pure: no I/O. An operator runs, in every network namespace of a
// node (and of its pods),
//
//   ip -j -d link show · ip -j addr show · ip -j route show table all · ip -6 -j route show table all
//   ip -j neigh show · ip -j neigh show proxy · bridge -j fdb show · sysctl net.ipv4.ip_forward net.ipv4.conf.all.proxy_arp
//   net.ipv4.conf.<link>.proxy_arp net.ipv6.conf.<link>.proxy_ndp
//
// and pastes the outputs, verbatim, into a dumps document ({netns: [{name, kind, link, addr, route, ...}], segments}).
// The steps under iproute/ turn that into the fabric the tracer walks, in this order: links.ts (namespaces, link kinds,
// tunnels, bridge ports), peers.ts (the veth pairs across namespaces), addresses.ts, sysctls.ts (forwarding, proxy ARP and
// NDP), routes.ts (the main table, and the connected routes the fabric derives), neighbours.ts (neighbours and FDB
// entries), segments.ts (the L2 segments physical links share, and the hosts outside the dumps).
//
// Two kinds of trouble are told apart, as for the kubectl import. Input iproute2 never prints (an address that does not
// parse, a route through a link the namespace lacks) and what cannot be decided (an ambiguous veth peer) are refused
// (422, JSON pointers into the dumps). What the fabric does not model is converted without it and explained in warnings.
import { DataError } from '../topology/data-error.js';
import { assertConsistent, fabricProblems } from '../topology/validate.js';
import type { DumpsDoc, FabricDoc, LinkDoc, NetnsDoc, TopologySpec } from '../topology/schema.js';
import type { ImportWarning } from './warnings.js';
import { Conversion } from './iproute/conversion.js';
import { readMasters, readNetns } from './iproute/links.js';
import { resolvePeers } from './iproute/peers.js';
import { readAddresses, readLinkLocalGateways } from './iproute/addresses.js';
import { readSysctls } from './iproute/sysctls.js';
import { readRoutes } from './iproute/routes.js';
import { readNeighbours } from './iproute/neighbours.js';
import { assignSegments } from './iproute/segments.js';

export interface IprouteImport {
  fabric: FabricDoc;
  warnings: ImportWarning[];
  /**
   * Where a place of the converted fabric came from: for a pointer into the fabric ("/netns/1/links/2/peer"), the pointer
   * of the dump entry it was made of ("/dumps/netns/1/link/3") and what is left of the fabric pointer ("/peer").
   */
  origin(fabricPointer: string): { pointer: string; rest: string } | undefined;
}

/** Converts a dumps document to a fabric; throws DataError (422) with pointers under `base` into the dumps. */
export function importIproute(dumps: DumpsDoc, base = '/dumps'): IprouteImport {
  const c = new Conversion(dumps, base);
  readLinkLocalGateways(c);
  dumps.netns.forEach((d, i) => readNetns(c, d, i));
  resolvePeers(c);
  for (const ns of c.nss) {
    readMasters(c, ns);
    readAddresses(c, ns);
  }
  // Kinds, masters and addresses are known: a connected route can be told derived or not.
  for (const ns of c.nss) {
    readSysctls(c, ns);
    readRoutes(c, ns);
    readNeighbours(c, ns);
  }
  assignSegments(c);
  if (c.errors.length > 0) {
    const n = c.errors.length;
    const first = c.errors[0]!;
    throw new DataError(
      n === 1 ? `the dumps cannot be converted: ${first.pointer}: ${first.detail}` : `the dumps have ${n} problems`,
      c.errors.slice(0, 100),
    );
  }
  const fabric: FabricDoc = { netns: c.nss.map((ns) => ordered(ns.doc)) };
  if (c.segments.length > 0) fabric.segments = c.segments;
  const origins = c.origins;
  return {
    fabric,
    warnings: c.warnings.list(),
    origin(pointer: string) {
      for (let p = pointer; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) {
        const o = origins.get(p);
        if (o === undefined) continue;
        const rest = pointer.slice(p.length);
        // A netns's name and a segment's fields are written as they were given: point at them exactly.
        const same = /^\/netns\/\d+$/.test(p) ? /^\/name$/ : /^\/segments\/\d+$/.test(p) ? /^\/(name|cidr|external\/\d+)$/ : undefined;
        return same?.test(rest) ? { pointer: `${o}${rest}`, rest: '' } : { pointer: o, rest };
      }
      return undefined;
    },
  };
}

/** A topology given as dumps: the fabric they convert to, checked, and what the conversion left out or had to infer. */
export interface CheckedDumps {
  spec: TopologySpec & { form: 'fabric' };
  warnings: ImportWarning[];
}

/**
 * Converts dumps and checks the fabric they convert to as a given one is; throws DataError (422) with every problem at
 * the dump entry it comes from.
 */
export function checkDumps(dumps: DumpsDoc, base = '/dumps'): CheckedDumps {
  const imported = importIproute(dumps, base);
  assertConsistent(
    fabricProblems(imported.fabric, '').map((e) => {
      const at = imported.origin(e.pointer!);
      const where = at === undefined || at.rest !== '' ? ` (in the converted fabric, at ${e.pointer})` : '';
      return { pointer: at?.pointer ?? base, detail: `${e.detail}${where}` };
    }),
  );
  return { spec: { form: 'fabric', fabric: imported.fabric }, warnings: imported.warnings };
}

const LINK_KEYS: (keyof LinkDoc)[] = ['name', 'kind', 'addresses', 'peer', 'master', 'segment', 'up', 'mtu', 'proxyArp', 'proxyNdp', 'mac', 'vni', 'port', 'local', 'underlay'];

/** A netns in the order the fabric documents write their fields (name, kind, ..., links, routes), for people reading it. */
function ordered(ns: NetnsDoc): NetnsDoc {
  const links = ns.links.map((l) => Object.fromEntries(LINK_KEYS.filter((k) => l[k] !== undefined).map((k) => [k, l[k]])) as LinkDoc);
  const { name, kind, node, forwarding, multipathHashPolicy, multipathHashSeed, routes, neigh, fdb } = ns;
  return {
    name,
    kind,
    ...(node !== undefined ? { node } : {}),
    ...(forwarding !== undefined ? { forwarding } : {}),
    ...(multipathHashPolicy !== undefined ? { multipathHashPolicy } : {}),
    ...(multipathHashSeed !== undefined ? { multipathHashSeed } : {}),
    links,
    ...(routes !== undefined ? { routes } : {}),
    ...(neigh !== undefined ? { neigh } : {}),
    ...(fdb !== undefined ? { fdb } : {}),
  };
}
