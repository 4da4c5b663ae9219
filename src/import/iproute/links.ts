// Namespaces and their links: kinds from linkinfo.info_kind (veth, bridge, vxlan, geneve, ipip, dummy; anything else is a
// physical link), state from the UP flag, MTU and MAC, tunnel facts (vni, port, local, underlay) from info_data, and bridge
// ports from master. Veth peers are found once every namespace is read (peers.ts).
import { Addr } from '../../engine/addr.js';
import type { DumpNetnsDoc, LinkDoc, NetnsDoc } from '../../topology/schema.js';
import { MAC, type Conversion, type LinkRec, type NsRec } from './conversion.js';

const FABRIC_KINDS = new Set(['veth', 'bridge', 'vxlan', 'geneve', 'ipip', 'dummy']);

export function readNetns(c: Conversion, dump: DumpNetnsDoc, index: number) {
  const pointer = `${c.base}/netns/${index}`;
  const doc: NetnsDoc = { name: dump.name, kind: dump.kind, links: [] };
  if (dump.node !== undefined) doc.node = dump.node;
  const ns: NsRec = { index, pointer, dump, links: [], byName: new Map(), byIfindex: new Map(), doc };
  if (c.nsByName.has(dump.name)) c.error(`${pointer}/name`, `another netns is also named ${dump.name}`);
  else c.nsByName.set(dump.name, ns);
  c.nss.push(ns);
  c.origins.set(`/netns/${index}`, pointer);

  dump.link.forEach((raw, j) => {
    const lp = `${pointer}/link/${j}`;
    const flags = raw.flags ?? [];
    if (raw.ifname === 'lo' || flags.includes('LOOPBACK')) return;
    if (ns.byName.has(raw.ifname)) return c.error(`${lp}/ifname`, `another link of ${dump.name} is also named ${raw.ifname}`);
    if (ns.byIfindex.has(raw.ifindex)) return c.error(`${lp}/ifindex`, `another link of ${dump.name} also has ifindex ${raw.ifindex}`);
    const infoKind = raw.linkinfo?.info_kind || undefined;
    let kind: LinkDoc['kind'] = 'physical';
    if (infoKind !== undefined && FABRIC_KINDS.has(infoKind)) kind = infoKind as LinkDoc['kind'];
    else if (infoKind !== undefined) c.warn('kind-not-modelled', lp, `${raw.ifname} is a ${infoKind}: taken as a physical link`);
    const up = raw.flags !== undefined ? flags.includes('UP') : raw.operstate !== 'DOWN';
    const doc: LinkDoc = { name: raw.ifname, kind };
    const link: LinkRec = {
      ns,
      pointer: lp,
      raw,
      name: raw.ifname,
      ifindex: raw.ifindex,
      infoKind,
      up,
      doc,
      position: ns.doc.links.length,
      peer: undefined,
      addrs: [],
    };
    c.origins.set(`/netns/${index}/links/${link.position}`, lp);
    ns.doc.links.push(doc);
    ns.links.push(link);
    ns.byName.set(link.name, link);
    ns.byIfindex.set(link.ifindex, link);
  });

  for (const link of ns.links) {
    const { raw, doc, pointer: lp } = link;
    if (!link.up) doc.up = false;
    if (raw.mtu !== undefined && raw.mtu >= 68 && raw.mtu <= 65535) doc.mtu = raw.mtu;
    if (raw.address !== undefined && MAC.test(raw.address)) doc.mac = raw.address;
    if (doc.kind === 'vxlan' || doc.kind === 'geneve') readVxlan(c, link, ns, lp);
    if (doc.kind === 'ipip') readIpip(c, link, lp);
  }
}

function readVxlan(c: Conversion, link: LinkRec, ns: NsRec, lp: string) {
  const data = (link.raw.linkinfo?.info_data ?? {}) as Record<string, unknown>;
  const dp = `${lp}/linkinfo/info_data`;
  const int = (key: string, lo: number, hi: number): number | undefined => {
    const v = data[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      c.error(`${dp}/${key}`, `must be an integer from ${lo} to ${hi}`);
      return undefined;
    }
    return v;
  };
  const vni = int('id', 0, 16777215);
  if (vni !== undefined) link.doc.vni = vni;
  const port = int('port', 0, 65535);
  if (port !== undefined && port > 0) link.doc.port = port;
  const localKey = data.local !== undefined ? 'local' : data.local6 !== undefined ? 'local6' : undefined;
  if (localKey !== undefined) {
    const text = data[localKey];
    const addr = typeof text === 'string' ? Addr.tryParse(text) : undefined;
    if (addr === undefined) c.error(`${dp}/${localKey}`, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
    else link.doc.local = addr.toString();
  }
  if (data.link !== undefined) {
    if (typeof data.link === 'string' && ns.byName.has(data.link)) link.doc.underlay = data.link;
    else c.error(`${dp}/link`, `netns ${ns.dump.name} has no link named ${JSON.stringify(data.link)}`);
  }
}

/**
 * The engine models IP-in-IP as Calico's tunl0 has it: no remote, the outer destination being the route's gateway. A
 * point-to-point tunnel (a remote address) would send every packet to its remote instead.
 */
function readIpip(c: Conversion, link: LinkRec, lp: string) {
  const data = (link.raw.linkinfo?.info_data ?? {}) as Record<string, unknown>;
  if (typeof data.remote === 'string' && data.remote !== 'any') {
    c.warn('ipip-remote-not-modelled', lp, `${link.doc.name} has the remote ${data.remote}: it is traced as tunl0 is, sending to each route's gateway`);
  }
}

export function readMasters(c: Conversion, ns: NsRec) {
  for (const link of ns.links) {
    const master = link.raw.master;
    if (master === undefined) continue;
    const m = ns.byName.get(master);
    if (m === undefined) {
      c.error(`${link.pointer}/master`, `netns ${ns.dump.name} has no link named ${master}`);
    } else if (m.doc.kind !== 'bridge') {
      c.warn('master-not-bridge', `${link.pointer}/master`, `${link.name}'s master ${master} is a ${m.infoKind ?? 'link'}, not a bridge`);
    } else if (link.doc.kind === 'bridge') {
      c.warn('master-not-bridge', `${link.pointer}/master`, `${link.name} is a bridge; a bridge in a bridge is not modelled`);
    } else {
      link.doc.master = master;
    }
  }
}
