// Segments: physical links join the segments the document names (by link, or by a cidr holding their address), the others
// one segment per subnet they share; a neighbour entry for an address no dump owns on a segment's subnet makes it a host
// outside the dumps (an upstream router), so that traces leave the model there.
import { Addr } from '../../engine/addr.js';
import { Prefix } from '../../engine/prefix.js';
import type { IfAddr } from '../../engine/ifaddr.js';
import type { SegmentDoc } from '../../topology/schema.js';
import type { Conversion, LinkRec } from './conversion.js';

export function assignSegments(c: Conversion) {
  const physical = c.nss.flatMap((ns) => ns.links.filter((l) => l.doc.kind === 'physical'));
  const segmentOf = new Map<LinkRec, SegmentDoc>();
  const cidrs = new Map<SegmentDoc, Prefix>();
  const names = new Set<string>();

  // Named in the document.
  c.dumps.segments?.forEach((s, i) => {
    const sp = `${c.base}/segments/${i}`;
    if (names.has(s.name)) c.error(`${sp}/name`, `another segment is also named ${s.name}`);
    names.add(s.name);
    const seg: SegmentDoc = { name: s.name };
    c.origins.set(`/segments/${c.segments.length}`, sp);
    c.segments.push(seg);
    if (s.cidr !== undefined) {
      try {
        const cidr = Prefix.parse(s.cidr);
        cidrs.set(seg, cidr);
        seg.cidr = cidr.toString();
      } catch (err) {
        c.error(`${sp}/cidr`, (err as Error).message);
      }
    }
    s.external?.forEach((text, k) => {
      const a = Addr.tryParse(text);
      if (a === undefined) return c.error(`${sp}/external/${k}`, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
      (seg.external ??= []).push(a.toString());
    });
    s.links?.forEach((ref, k) => {
      const lp = `${sp}/links/${k}`;
      const ns = c.nsByName.get(ref.netns);
      const link = ns?.byName.get(ref.link);
      if (ns === undefined) return c.error(`${lp}/netns`, `there is no netns named ${ref.netns} in the dumps`);
      if (link === undefined) return c.error(`${lp}/link`, `netns ${ref.netns} has no link named ${ref.link}`);
      if (link.doc.kind !== 'physical') {
        const why = link.peer ? `a veth whose peer is ${link.peer.ns.dump.name} ${link.peer.name}` : `a ${link.doc.kind}`;
        return c.error(`${lp}/link`, `${ref.netns} ${ref.link} is ${why}; only a physical link is plugged into a segment`);
      }
      const before = segmentOf.get(link);
      if (before !== undefined) return c.error(lp, `${ref.netns} ${ref.link} is already plugged into segment ${before.name}`);
      segmentOf.set(link, seg);
    });
  });

  const addressesOf = (l: LinkRec): IfAddr[] => {
    if (l.addrs.length > 0 || l.doc.master === undefined) return l.addrs;
    return l.ns.byName.get(l.doc.master)?.addrs ?? [];
  };
  // By a named segment's cidr.
  for (const l of physical) {
    if (segmentOf.has(l)) continue;
    const seg = c.segments.find((s) => cidrs.has(s) && addressesOf(l).some((a) => cidrs.get(s)!.contains(a.addr)));
    if (seg !== undefined) segmentOf.set(l, seg);
  }

  // One segment per subnet the rest share (subnets joined by a link on both are one L2 segment).
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const rest = physical.filter((l) => !segmentOf.has(l));
  const subnetsOf = new Map<LinkRec, Prefix[]>();
  for (const l of rest) {
    const subnets = addressesOf(l).filter((a) => a.bits < a.addr.bits).map((a) => a.prefix);
    subnetsOf.set(l, subnets);
    for (const s of subnets) if (!parent.has(s.toString())) parent.set(s.toString(), s.toString());
    for (const s of subnets.slice(1)) parent.set(find(s.toString()), find(subnets[0]!.toString()));
  }
  const components = new Map<string, { subnets: Prefix[]; links: LinkRec[] }>();
  for (const l of rest) {
    const subnets = subnetsOf.get(l)!;
    if (subnets.length === 0) continue;
    const root = find(subnets[0]!.toString());
    let component = components.get(root);
    if (component === undefined) components.set(root, (component = { subnets: [], links: [] }));
    component.links.push(l);
    for (const s of subnets) if (!component.subnets.some((x) => x.toString() === s.toString())) component.subnets.push(s);
  }
  const inferred = new Map<SegmentDoc, { subnets: Prefix[]; links: LinkRec[] }>();
  for (const component of components.values()) {
    let name = component.subnets[0]!.toString();
    for (let n = 2; names.has(name); n++) name = `${component.subnets[0]}-${n}`;
    names.add(name);
    const seg: SegmentDoc = { name };
    if (component.subnets.length === 1) {
      seg.cidr = component.subnets[0]!.toString();
      cidrs.set(seg, component.subnets[0]!);
    }
    inferred.set(seg, component);
    for (const l of component.links) segmentOf.set(l, seg);
  }

  // Neighbours nobody in the dumps owns, on a segment's subnet: hosts outside the dumps.
  const owned = new Set(c.nss.flatMap((ns) => ns.links.flatMap((l) => l.addrs.map((a) => a.addr.toString()))));
  for (const ns of c.nss) {
    ns.doc.neigh?.forEach((n, j) => {
      const link = ns.byName.get(n.dev)!;
      const seg = segmentOf.get(link);
      if (seg === undefined || owned.has(n.dst) || seg.external?.includes(n.dst)) return;
      const a = Addr.parse(n.dst);
      const cidr = cidrs.get(seg);
      if (!addressesOf(link).some((x) => x.prefix.contains(a)) || (cidr !== undefined && !cidr.contains(a))) return;
      (seg.external ??= []).push(n.dst);
      c.warn(
        'external-from-neighbour',
        c.origins.get(`/netns/${ns.index}/neigh/${j}`)!,
        `${n.dst} (neighbour of ${ns.dump.name} ${link.name}, ${n.lladdr}) is taken as a host outside the dumps on segment ${seg.name}`,
      );
    });
  }

  for (const [seg, component] of inferred) {
    if (component.links.length < 2 && seg.external === undefined) {
      for (const l of component.links) {
        segmentOf.delete(l);
        c.warn('physical-alone', l.pointer, `${l.ns.dump.name} ${l.name}: no other dumped link is on ${component.subnets.join(', ')}`);
      }
      continue;
    }
    c.segments.push(seg);
    for (const l of component.links) {
      c.warn('segment-inferred', l.pointer, `${l.ns.dump.name} ${l.name} is on segment ${seg.name}`);
    }
  }
  for (const l of physical) {
    const seg = segmentOf.get(l);
    if (seg !== undefined) l.doc.segment = seg.name;
    else if (subnetsOf.get(l)?.length === 0 && l.addrs.length > 0) {
      c.warn('physical-alone', l.pointer, `${l.ns.dump.name} ${l.name}: its addresses are host addresses, on no subnet`);
    }
    if (l.up && l.raw.flags !== undefined && !l.raw.flags.includes('LOWER_UP')) {
      c.warn('no-carrier', l.pointer, `${l.ns.dump.name} ${l.name} is ${l.raw.operstate ?? 'without carrier'}`);
    }
  }
}
