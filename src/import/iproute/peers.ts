// Veth peers. A peer in the same namespace is named by `link`; one in another namespace is given as link_index (its ifindex
// there) and link_netnsid (that namespace, as this one numbers the others: netnsids are per namespace and mean nothing
// across dumps). Candidates are the veths whose ifindex is our link_index and whose link_index is our ifindex; all the
// veths of a namespace that share a netnsid lead to one namespace, which numbers ours with one netnsid and holds exactly
// their peers; two netnsids of a namespace never name the same one. What these constraints leave ambiguous needs `peers`
// (or, for pods, `node`: a netnsid only names namespaces of the same kernel). A veth whose peer is in no dumped namespace
// is a link out of the dumps: a physical link.
import type { Conversion, LinkRec, NsRec } from './conversion.js';

function pair(a: LinkRec, b: LinkRec) {
  a.peer = b;
  b.peer = a;
  a.doc.peer = { netns: b.ns.dump.name, link: b.name };
  b.doc.peer = { netns: a.ns.dump.name, link: a.name };
}

/** Whether a netnsid of a's namespace can name b's: a pod's netnsids only name namespaces of its own node's kernel. */
function sameKernel(a: NsRec, b: NsRec): boolean {
  const machine = (ns: NsRec) => (ns.dump.kind === 'node' ? ns.dump.name : ns.dump.node);
  // Two nodes are two machines: no veth joins their root namespaces (an ifindex pair that fits is a coincidence).
  if (a.dump.kind === 'node' && b.dump.kind === 'node') return a === b;
  if (a.dump.node !== undefined) return machine(b) === a.dump.node;
  if (b.dump.node !== undefined) return machine(a) === b.dump.node;
  return true;
}

export function resolvePeers(c: Conversion) {
  const isVeth = (l: LinkRec | undefined) => l !== undefined && l.infoKind === 'veth';
  const what = (l: LinkRec) => `a ${l.infoKind ?? 'physical link'}, not a veth`;
  // Given explicitly.
  for (const ns of c.nss) {
    ns.dump.peers?.forEach((p, k) => {
      const pp = `${ns.pointer}/peers/${k}`;
      const a = ns.byName.get(p.link);
      const other = c.nsByName.get(p.netns);
      const b = other?.byName.get(p.peerLink);
      if (a === undefined || !isVeth(a)) return c.error(`${pp}/link`, a ? `${p.link} is ${what(a)}` : `netns ${ns.dump.name} has no link named ${p.link}`);
      if (other === undefined) return c.error(`${pp}/netns`, `there is no netns named ${p.netns} in the dumps`);
      if (b === undefined || !isVeth(b)) return c.error(`${pp}/peerLink`, b ? `${p.peerLink} is ${what(b)}` : `netns ${p.netns} has no link named ${p.peerLink}`);
      if (a === b) return c.error(pp, 'a veth is not its own peer');
      if ((a.peer !== undefined && a.peer !== b) || (b.peer !== undefined && b.peer !== a)) {
        return c.error(pp, `another entry of peers already pairs ${a.peer !== undefined && a.peer !== b ? p.link : p.peerLink} with something else`);
      }
      pair(a, b);
    });
  }

  // In the same namespace: `link` names the peer.
  const veths = c.nss.flatMap((ns) => ns.links.filter((l) => isVeth(l)));
  for (const v of veths) {
    if (v.peer !== undefined || v.raw.link_netnsid !== undefined) continue;
    const p = v.raw.link !== undefined ? v.ns.byName.get(v.raw.link) : v.raw.link_index !== undefined ? v.ns.byIfindex.get(v.raw.link_index) : undefined;
    if (p !== undefined && isVeth(p) && p !== v && p.peer === undefined) pair(v, p);
  }

  // In another namespace: groups of (namespace, netnsid), each leading to one namespace, solved by constraint propagation.
  interface Group {
    ns: NsRec;
    nsid: number;
    veths: LinkRec[];
    domain: Set<NsRec>;
  }
  const groups = new Map<string, Group>();
  const byIndices = new Map<string, LinkRec[]>();
  // A netnsid of -1 (not assigned) says nothing about where the peer is: such a veth is a group of its own.
  const groupKey = (v: LinkRec) => {
    const nsid = v.raw.link_netnsid!;
    return nsid >= 0 ? `${v.ns.index}/${nsid}` : `${v.ns.index}/?${v.ifindex}`;
  };
  const open = veths.filter((v) => v.peer === undefined && v.raw.link_netnsid !== undefined && v.raw.link_index !== undefined);
  for (const v of open) {
    const key = groupKey(v);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { ns: v.ns, nsid: v.raw.link_netnsid!, veths: [], domain: new Set() }));
    g.veths.push(v);
    const ik = `${v.ifindex}/${v.raw.link_index}`;
    const same = byIndices.get(ik);
    if (same === undefined) byIndices.set(ik, [v]);
    else same.push(v);
  }
  /** The veth of ns that can be v's peer: its ifindex is v's link_index and its link_index is v's ifindex. */
  const partnerIn = (v: LinkRec, ns: NsRec) => byIndices.get(`${v.raw.link_index}/${v.ifindex}`)?.find((p) => p.ns === ns);
  const groupOf = (v: LinkRec) => groups.get(groupKey(v))!;
  for (const g of groups.values()) {
    let domain: Set<NsRec> | undefined;
    for (const v of g.veths) {
      const here = new Set(
        (byIndices.get(`${v.raw.link_index}/${v.ifindex}`) ?? []).map((p) => p.ns).filter((ns) => ns !== g.ns && sameKernel(g.ns, ns)),
      );
      domain = domain === undefined ? here : new Set([...domain].filter((ns) => here.has(ns)));
    }
    g.domain = domain ?? new Set();
  }
  /** Whether g's netnsid can name ns: there, one group holds exactly the peers of g's veths, and may lead back. */
  const consistent = (g: Group, ns: NsRec): boolean => {
    const partners = g.veths.map((v) => partnerIn(v, ns));
    if (partners.some((p) => p === undefined)) return false;
    const h = groupOf(partners[0]!);
    if (partners.some((p) => groupOf(p!) !== h) || new Set(partners).size !== partners.length) return false;
    return (g.nsid < 0 || h.nsid < 0 || h.veths.length === g.veths.length) && h.domain.has(g.ns);
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const g of groups.values()) {
      for (const ns of g.domain) {
        if (!consistent(g, ns)) {
          g.domain.delete(ns);
          changed = true;
        }
      }
      if (g.domain.size !== 1) continue;
      const [target] = g.domain;
      // Two netnsids of one namespace never name the same namespace, and the group there leads back here only.
      for (const other of groups.values()) {
        if (other !== g && other.ns === g.ns && g.nsid >= 0 && other.nsid >= 0 && other.domain.delete(target!)) changed = true;
      }
      const back = groupOf(partnerIn(g.veths[0]!, target!)!);
      for (const ns of back.domain) {
        if (ns !== g.ns) {
          back.domain.delete(ns);
          changed = true;
        }
      }
    }
  }
  for (const g of groups.values()) {
    if (g.domain.size === 1) {
      const [target] = g.domain;
      for (const v of g.veths) if (v.peer === undefined) pair(v, partnerIn(v, target!)!);
    } else if (g.domain.size > 1) {
      const names = [...g.domain].map((ns) => ns.dump.name);
      for (const v of g.veths) {
        c.error(
          v.pointer,
          `the peer of ${g.ns.dump.name} ${v.name} is ifindex ${v.raw.link_index} of the namespace it numbers ${g.nsid}, ` +
            `which could be ${names.length > 5 ? `${names.slice(0, 5).join(', ')} or ${names.length - 5} more` : names.join(' or ')}: ` +
            `give it in ${g.ns.pointer}/peers${g.ns.dump.kind === 'pod' && g.ns.dump.node === undefined ? ', or give the pod its node' : ''}`,
        );
      }
    }
  }
  // What is left leads out of the dumps.
  for (const v of veths) {
    if (v.peer !== undefined) continue;
    v.doc.kind = 'physical';
    const where = v.raw.link_netnsid !== undefined ? ` (ifindex ${v.raw.link_index} of netnsid ${v.raw.link_netnsid})` : '';
    c.warn('veth-peer-outside', v.pointer, `the peer of ${v.ns.dump.name} ${v.name}${where} is in no dumped namespace: taken as a physical link`);
  }
}
