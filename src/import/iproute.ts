// Kernel state as iproute2 prints it → the fabric form. Pure: no I/O. An operator runs, in every network namespace of a
// node (and of its pods),
//
//   ip -j -d link show · ip -j addr show · ip -j route show table all · ip -6 -j route show table all
//   ip -j neigh show · ip -j neigh show proxy · bridge -j fdb show · sysctl net.ipv4.ip_forward net.ipv4.conf.all.proxy_arp
//   net.ipv4.conf.<link>.proxy_arp net.ipv6.conf.<link>.proxy_ndp
//
// and pastes the outputs, verbatim, into a dumps document ({netns: [{name, kind, link, addr, route, ...}], segments}).
// This file turns that into the fabric the tracer walks:
//
// - link kinds from linkinfo.info_kind (veth, bridge, vxlan, dummy; anything else is a physical link), state from the UP
//   flag, bridge ports from master, vxlan facts (vni, port, local, underlay) from info_data;
// - veth peers: a peer in the same namespace is named by `link`; one in another namespace is given as link_index (its
//   ifindex there) and link_netnsid (that namespace, as this one numbers the others: netnsids are per namespace and mean
//   nothing across dumps). Candidates are the veths whose ifindex is our link_index and whose link_index is our ifindex;
//   all the veths of a namespace that share a netnsid lead to one namespace, which numbers ours with one netnsid and holds
//   exactly their peers; two netnsids of a namespace never name the same one. What these constraints leave ambiguous
//   needs `peers` (or, for pods, `node`: a netnsid only names namespaces of the same kernel). A veth whose peer is in no
//   dumped namespace is a link out of the dumps: a physical link;
// - addresses from addr_info, without lo, host-scope addresses and the link-local IPv6 addresses no dumped route names as
//   its gateway (every link has one; Calico's pods route via fe80::ecee:eeff:feee:eeee, which their node must own);
// - the main table's routes (also from route6), without what the fabric derives (proto kernel connected routes) and what
//   it does not model (the local table, broadcast/multicast/anycast routes, other tables, which are counted in warnings);
// - forwarding and proxy-ARP from the sysctls (forwarding defaults to on for nodes and routers, off for pods and hosts);
//   proxy NDP entries from `ip -j neigh show proxy`, where proxy_ndp is on;
// - segments: physical links join the segments the document names (by link, or by a cidr holding their address), the
//   others one segment per subnet they share; a neighbour entry for an address no dump owns on a segment's subnet makes
//   it a host outside the dumps (an upstream router), so that traces leave the model there.
//
// Two kinds of trouble are told apart, as for the kubectl import. Input iproute2 never prints (an address that does not
// parse, a route through a link the namespace lacks) and what cannot be decided (an ambiguous veth peer) are refused
// (422, JSON pointers into the dumps). What the fabric does not model is converted without it and explained in warnings.
import { Addr } from '../engine/addr.js';
import { Prefix } from '../engine/prefix.js';
import { IfAddr } from '../engine/ifaddr.js';
import { DataError, type InvalidParam } from '../topology/data-error.js';
import type {
  DumpLinkDoc,
  DumpNetnsDoc,
  DumpRouteDoc,
  DumpsDoc,
  FabricDoc,
  FdbEntryDoc,
  LinkDoc,
  NeighbourDoc,
  NetnsDoc,
  NextHopDoc,
  RouteDoc,
  SegmentDoc,
} from '../topology/schema.js';

export interface ImportWarning {
  code: string;
  count: number;
  detail: string;
  /** Up to 10 of the places concerned, as JSON pointers into the request body. */
  examples: { pointer: string; detail: string }[];
}

export interface IprouteImport {
  fabric: FabricDoc;
  warnings: ImportWarning[];
  /**
   * Where a place of the converted fabric came from: for a pointer into the fabric ("/netns/1/links/2/peer"), the pointer
   * of the dump entry it was made of ("/dumps/netns/1/link/3") and what is left of the fabric pointer ("/peer").
   */
  origin(fabricPointer: string): { pointer: string; rest: string } | undefined;
}

const WARNINGS = {
  'veth-peer-outside': 'veths whose other end is in none of the dumped namespaces are taken as physical links',
  'kind-not-modelled': 'links of kinds the fabric does not model are taken as physical links',
  'ipip-remote-not-modelled': "IP-in-IP links with a remote are traced as Calico's tunl0 (no remote): the route's gateway is the outer destination",
  'master-not-bridge': "links enslaved to something other than a bridge are taken without their master",
  'no-carrier': 'physical links that are up but have no carrier are traced as if they had it',
  'segment-inferred': 'physical links that no segment names were put on one segment per subnet they share',
  'physical-alone': 'physical links that share no subnet with another dumped link are plugged into nothing',
  'external-from-neighbour': 'neighbours that no dump owns, on a segment, are taken as hosts outside the dumps',
  'address-peer': 'the peer of a point-to-point address is not modelled (the local address is kept)',
  'address-dadfailed': 'IPv6 addresses that failed duplicate address detection are left out',
  'address-unknown-link': 'addresses of links that the link dump does not show are left out',
  'route-table-skipped': 'routes of tables other than main are left out: policy routing is not modelled',
  'route-type-skipped': 'routes of types the fabric does not model are left out',
  'route-via-skipped': 'routes through a gateway of another family (via) are left out',
  'route-lo-skipped': 'unicast routes through lo are left out',
  'connected-route-kept': 'connected routes (proto kernel) that the fabric does not derive from an address are kept as routes',
  'connected-route-missing': 'the fabric derives a connected route from these addresses that the dumped table does not hold',
  'sysctl-not-modelled': 'sysctls that change forwarding decisions but are not modelled',
  'proxy-ndp-off': 'proxy NDP entries of links whose proxy_ndp is off are left out',
  'fdb-skipped': 'FDB entries without a remote (dst) are left out: the fabric keeps tunnel endpoints only',
} as const;
type WarningCode = keyof typeof WARNINGS;

class Warnings {
  private readonly byCode = new Map<WarningCode, ImportWarning>();
  add(code: WarningCode, pointer: string, detail: string) {
    let w = this.byCode.get(code);
    if (w === undefined) {
      w = { code, count: 0, detail: WARNINGS[code], examples: [] };
      this.byCode.set(code, w);
    }
    w.count++;
    if (w.examples.length < 10) w.examples.push({ pointer, detail });
  }
  list(): ImportWarning[] {
    return [...this.byCode.values()];
  }
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
const LINK_LOCAL6 = Prefix.parse('fe80::/10');
const MULTICAST6 = Prefix.parse('ff00::/8');
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const FABRIC_KINDS = new Set(['veth', 'bridge', 'vxlan', 'geneve', 'ipip', 'dummy']);
const SKIPPED_TYPES = new Set(['local', 'broadcast', 'multicast', 'anycast']);
const ROUTE_TYPES = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit']);
const SCOPES = new Set(['global', 'link', 'host']);

interface LinkRec {
  readonly ns: NsRec;
  readonly pointer: string;
  readonly raw: DumpLinkDoc;
  readonly name: string;
  readonly ifindex: number;
  readonly infoKind: string | undefined;
  readonly up: boolean;
  readonly doc: LinkDoc;
  /** Where doc sits in its netns's links. */
  readonly position: number;
  peer: LinkRec | undefined;
  addrs: IfAddr[];
}

interface NsRec {
  readonly index: number;
  readonly pointer: string;
  readonly dump: DumpNetnsDoc;
  readonly links: LinkRec[];
  readonly byName: Map<string, LinkRec>;
  readonly byIfindex: Map<number, LinkRec>;
  readonly doc: NetnsDoc;
}

/** Converts a dumps document to a fabric; throws DataError (422) with pointers under `base` into the dumps. */
export function importIproute(dumps: DumpsDoc, base = '/dumps'): IprouteImport {
  return new Converter(dumps, base).run();
}

class Converter {
  private readonly errors: InvalidParam[] = [];
  private readonly warnings = new Warnings();
  private readonly origins = new Map<string, string>();
  private readonly nss: NsRec[] = [];
  private readonly nsByName = new Map<string, NsRec>();
  private readonly segments: SegmentDoc[] = [];
  /** The link-local IPv6 gateways of every dumped route: the only link-local addresses worth keeping. */
  private readonly linkLocalGateways = new Set<string>();

  constructor(
    private readonly dumps: DumpsDoc,
    private readonly base: string,
  ) {}

  private error(pointer: string, detail: string) {
    this.errors.push({ pointer, detail });
  }

  run(): IprouteImport {
    for (const d of this.dumps.netns) {
      for (const r of [...d.route, ...(d.route6 ?? [])]) {
        for (const gw of [r.gateway, ...(r.nexthops ?? []).map((n) => n.gateway)]) {
          const a = gw === undefined ? undefined : Addr.tryParse(gw);
          if (a?.family === 6 && LINK_LOCAL6.contains(a)) this.linkLocalGateways.add(a.toString());
        }
      }
    }
    this.dumps.netns.forEach((d, i) => this.readNetns(d, i));
    this.resolvePeers();
    for (const ns of this.nss) {
      this.readMasters(ns);
      this.readAddresses(ns);
    }
    // Kinds, masters and addresses are known: a connected route can be told derived or not.
    for (const ns of this.nss) {
      this.readSysctls(ns);
      this.readRoutes(ns);
      this.readNeighbours(ns);
    }
    this.assignSegments();
    if (this.errors.length > 0) {
      const n = this.errors.length;
      const first = this.errors[0]!;
      throw new DataError(
        n === 1 ? `the dumps cannot be converted: ${first.pointer}: ${first.detail}` : `the dumps have ${n} problems`,
        this.errors.slice(0, 100),
      );
    }
    const fabric: FabricDoc = { netns: this.nss.map((ns) => ordered(ns.doc)) };
    if (this.segments.length > 0) fabric.segments = this.segments;
    const origins = this.origins;
    return {
      fabric,
      warnings: this.warnings.list(),
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

  // ---- namespaces and links ----

  private readNetns(dump: DumpNetnsDoc, index: number) {
    const pointer = `${this.base}/netns/${index}`;
    const doc: NetnsDoc = { name: dump.name, kind: dump.kind, links: [] };
    if (dump.node !== undefined) doc.node = dump.node;
    const ns: NsRec = { index, pointer, dump, links: [], byName: new Map(), byIfindex: new Map(), doc };
    if (this.nsByName.has(dump.name)) this.error(`${pointer}/name`, `another netns is also named ${dump.name}`);
    else this.nsByName.set(dump.name, ns);
    this.nss.push(ns);
    this.origins.set(`/netns/${index}`, pointer);

    dump.link.forEach((raw, j) => {
      const lp = `${pointer}/link/${j}`;
      const flags = raw.flags ?? [];
      if (raw.ifname === 'lo' || flags.includes('LOOPBACK')) return;
      if (ns.byName.has(raw.ifname)) return this.error(`${lp}/ifname`, `another link of ${dump.name} is also named ${raw.ifname}`);
      if (ns.byIfindex.has(raw.ifindex)) return this.error(`${lp}/ifindex`, `another link of ${dump.name} also has ifindex ${raw.ifindex}`);
      const infoKind = raw.linkinfo?.info_kind || undefined;
      let kind: LinkDoc['kind'] = 'physical';
      if (infoKind !== undefined && FABRIC_KINDS.has(infoKind)) kind = infoKind as LinkDoc['kind'];
      else if (infoKind !== undefined) this.warnings.add('kind-not-modelled', lp, `${raw.ifname} is a ${infoKind}: taken as a physical link`);
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
      this.origins.set(`/netns/${index}/links/${link.position}`, lp);
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
      if (doc.kind === 'vxlan' || doc.kind === 'geneve') this.readVxlan(link, ns, lp);
      if (doc.kind === 'ipip') this.readIpip(link, lp);
    }
  }

  private readVxlan(link: LinkRec, ns: NsRec, lp: string) {
    const data = (link.raw.linkinfo?.info_data ?? {}) as Record<string, unknown>;
    const dp = `${lp}/linkinfo/info_data`;
    const int = (key: string, lo: number, hi: number): number | undefined => {
      const v = data[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
        this.error(`${dp}/${key}`, `must be an integer from ${lo} to ${hi}`);
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
      if (addr === undefined) this.error(`${dp}/${localKey}`, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
      else link.doc.local = addr.toString();
    }
    if (data.link !== undefined) {
      if (typeof data.link === 'string' && ns.byName.has(data.link)) link.doc.underlay = data.link;
      else this.error(`${dp}/link`, `netns ${ns.dump.name} has no link named ${JSON.stringify(data.link)}`);
    }
  }

  /**
   * The engine models IP-in-IP as Calico's tunl0 has it: no remote, the outer destination being the route's gateway. A
   * point-to-point tunnel (a remote address) would send every packet to its remote instead.
   */
  private readIpip(link: LinkRec, lp: string) {
    const data = (link.raw.linkinfo?.info_data ?? {}) as Record<string, unknown>;
    if (typeof data.remote === 'string' && data.remote !== 'any') {
      this.warnings.add('ipip-remote-not-modelled', lp, `${link.doc.name} has the remote ${data.remote}: it is traced as tunl0 is, sending to each route's gateway`);
    }
  }

  private readMasters(ns: NsRec) {
    for (const link of ns.links) {
      const master = link.raw.master;
      if (master === undefined) continue;
      const m = ns.byName.get(master);
      if (m === undefined) {
        this.error(`${link.pointer}/master`, `netns ${ns.dump.name} has no link named ${master}`);
      } else if (m.doc.kind !== 'bridge') {
        this.warnings.add('master-not-bridge', `${link.pointer}/master`, `${link.name}'s master ${master} is a ${m.infoKind ?? 'link'}, not a bridge`);
      } else if (link.doc.kind === 'bridge') {
        this.warnings.add('master-not-bridge', `${link.pointer}/master`, `${link.name} is a bridge; a bridge in a bridge is not modelled`);
      } else {
        link.doc.master = master;
      }
    }
  }

  // ---- veth peers ----

  private pair(a: LinkRec, b: LinkRec) {
    a.peer = b;
    b.peer = a;
    a.doc.peer = { netns: b.ns.dump.name, link: b.name };
    b.doc.peer = { netns: a.ns.dump.name, link: a.name };
  }

  /** Whether a netnsid of a's namespace can name b's: a pod's netnsids only name namespaces of its own node's kernel. */
  private sameKernel(a: NsRec, b: NsRec): boolean {
    const machine = (ns: NsRec) => (ns.dump.kind === 'node' ? ns.dump.name : ns.dump.node);
    // Two nodes are two machines: no veth joins their root namespaces (an ifindex pair that fits is a coincidence).
    if (a.dump.kind === 'node' && b.dump.kind === 'node') return a === b;
    if (a.dump.node !== undefined) return machine(b) === a.dump.node;
    if (b.dump.node !== undefined) return machine(a) === b.dump.node;
    return true;
  }

  private resolvePeers() {
    const isVeth = (l: LinkRec | undefined) => l !== undefined && l.infoKind === 'veth';
    const what = (l: LinkRec) => `a ${l.infoKind ?? 'physical link'}, not a veth`;
    // Given explicitly.
    for (const ns of this.nss) {
      ns.dump.peers?.forEach((p, k) => {
        const pp = `${ns.pointer}/peers/${k}`;
        const a = ns.byName.get(p.link);
        const other = this.nsByName.get(p.netns);
        const b = other?.byName.get(p.peerLink);
        if (a === undefined || !isVeth(a)) return this.error(`${pp}/link`, a ? `${p.link} is ${what(a)}` : `netns ${ns.dump.name} has no link named ${p.link}`);
        if (other === undefined) return this.error(`${pp}/netns`, `there is no netns named ${p.netns} in the dumps`);
        if (b === undefined || !isVeth(b)) return this.error(`${pp}/peerLink`, b ? `${p.peerLink} is ${what(b)}` : `netns ${p.netns} has no link named ${p.peerLink}`);
        if (a === b) return this.error(pp, 'a veth is not its own peer');
        if ((a.peer !== undefined && a.peer !== b) || (b.peer !== undefined && b.peer !== a)) {
          return this.error(pp, `another entry of peers already pairs ${a.peer !== undefined && a.peer !== b ? p.link : p.peerLink} with something else`);
        }
        this.pair(a, b);
      });
    }

    // In the same namespace: `link` names the peer.
    const veths = this.nss.flatMap((ns) => ns.links.filter((l) => isVeth(l)));
    for (const v of veths) {
      if (v.peer !== undefined || v.raw.link_netnsid !== undefined) continue;
      const p = v.raw.link !== undefined ? v.ns.byName.get(v.raw.link) : v.raw.link_index !== undefined ? v.ns.byIfindex.get(v.raw.link_index) : undefined;
      if (p !== undefined && isVeth(p) && p !== v && p.peer === undefined) this.pair(v, p);
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
          (byIndices.get(`${v.raw.link_index}/${v.ifindex}`) ?? []).map((p) => p.ns).filter((ns) => ns !== g.ns && this.sameKernel(g.ns, ns)),
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
        for (const v of g.veths) if (v.peer === undefined) this.pair(v, partnerIn(v, target!)!);
      } else if (g.domain.size > 1) {
        const names = [...g.domain].map((ns) => ns.dump.name);
        for (const v of g.veths) {
          this.error(
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
      this.warnings.add('veth-peer-outside', v.pointer, `the peer of ${v.ns.dump.name} ${v.name}${where} is in no dumped namespace: taken as a physical link`);
    }
  }

  // ---- addresses and sysctls ----

  private readAddresses(ns: NsRec) {
    ns.dump.addr.forEach((entry, j) => {
      const ap = `${ns.pointer}/addr/${j}`;
      if (entry.ifname === 'lo') return;
      const link = ns.byName.get(entry.ifname);
      const infos = (entry.addr_info ?? []).filter((a) => a.local !== undefined);
      if (link === undefined) {
        if (infos.length > 0) this.warnings.add('address-unknown-link', ap, `${ns.dump.name} has no link ${entry.ifname} in its link dump`);
        return;
      }
      (entry.addr_info ?? []).forEach((info, k) => {
        const ip = `${ap}/addr_info/${k}`;
        if (info.local === undefined) return;
        if (info.scope === 'host') return;
        const a = Addr.tryParse(info.local);
        if (a === undefined) return this.error(`${ip}/local`, `${JSON.stringify(info.local)} is not an IPv4 or IPv6 address`);
        if (a.family === 6 && LINK_LOCAL6.contains(a) && !this.linkLocalGateways.has(a.toString())) return;
        const bits = info.prefixlen ?? a.bits;
        if (bits > a.bits) return this.error(`${ip}/prefixlen`, `${bits} is longer than an IPv${a.family} address`);
        if (info.dadfailed) return this.warnings.add('address-dadfailed', ip, `${a}/${bits} on ${ns.dump.name} ${link.name}`);
        if (info.address !== undefined && info.address !== info.local) {
          this.warnings.add('address-peer', ip, `${a} peer ${info.address} on ${ns.dump.name} ${link.name}: the peer is left out`);
        }
        const ifaddr = IfAddr.of(a, bits);
        if (link.addrs.some((x) => x.equals(ifaddr))) return;
        link.addrs.push(ifaddr);
        (link.doc.addresses ??= []).push(ifaddr.toString());
      });
    });
  }

  private readSysctls(ns: NsRec) {
    const values = new Map<string, number>();
    for (const [key, value] of Object.entries(ns.dump.sysctl ?? {})) {
      const n = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (Number.isInteger(n)) values.set(key.trim(), n);
      else this.error(`${ns.pointer}/sysctl/${escape(key)}`, `${JSON.stringify(value)} is not an integer`);
    }
    // sysctl writes the dots of an interface name as slashes (net.ipv4.conf.eth0/100.proxy_arp); take either.
    const confOf = (link: string, name: string, family: 4 | 6 = 4) =>
      values.get(`net.ipv${family}.conf.${link.replace(/\./g, '/')}.${name}`) ?? values.get(`net.ipv${family}.conf.${link}.${name}`);

    const ipForward = values.get('net.ipv4.ip_forward') ?? values.get('net.ipv4.conf.all.forwarding');
    const forwarding = ipForward !== undefined ? ipForward !== 0 : ns.dump.kind === 'node' || ns.dump.kind === 'router';
    ns.doc.forwarding = forwarding;
    const sp = `${ns.pointer}/sysctl`;
    const v6 = values.get('net.ipv6.conf.all.forwarding');
    const hasV6 = ns.links.some((l) => l.addrs.some((a) => a.addr.family === 6));
    if (v6 !== undefined && v6 !== 0 !== forwarding && hasV6) {
      this.warnings.add('sysctl-not-modelled', `${sp}/net.ipv6.conf.all.forwarding`, `${ns.dump.name}: IPv6 forwarding is ${v6 ? 'on' : 'off'} and IPv4 forwarding ${forwarding ? 'on' : 'off'}; the fabric has one setting (IPv4's) for both`);
    }
    // ECMP: one policy for both families (policies 2 and 3 hash fields the fabric cannot name); seed 0 is the per-boot key.
    const policy = values.get('net.ipv4.fib_multipath_hash_policy') ?? 0;
    const policy6 = values.get('net.ipv6.fib_multipath_hash_policy') ?? policy;
    if (policy === 1) ns.doc.multipathHashPolicy = 1;
    if (policy > 1 || policy6 !== policy) {
      this.warnings.add('sysctl-not-modelled', `${sp}/net.ipv${policy > 1 ? 4 : 6}.fib_multipath_hash_policy`, `${ns.dump.name}: multipath hash policy ${policy} (IPv4) and ${policy6} (IPv6); the fabric models policies 0 and 1, one for both families (IPv4's, 0 for a custom one)`);
    }
    const seed = values.get('net.ipv4.fib_multipath_hash_seed') ?? 0;
    if (seed > 0 && seed <= 0xffffffff) ns.doc.multipathHashSeed = seed;
    const allProxy = (confOf('all', 'proxy_arp') ?? 0) !== 0;
    const allRp = confOf('all', 'rp_filter') ?? 0;
    // Proxy NDP entries answer only where proxy_ndp is on; a dump without the sysctl is taken at its word.
    const allNdp = confOf('all', 'proxy_ndp', 6);
    ns.dump.neighProxy?.forEach((e, j) => {
      const ep = `${ns.pointer}/neighProxy/${j}`;
      const link = e.dev === undefined ? undefined : ns.byName.get(e.dev);
      const a = Addr.tryParse(e.dst);
      if (link === undefined || a === undefined || a.family !== 6) return;
      const on = allNdp === 1 || (confOf(link.name, 'proxy_ndp', 6) ?? allNdp ?? 1) !== 0;
      if (!on) return this.warnings.add('proxy-ndp-off', ep, `${ns.dump.name} ${link.name}: proxy ${a} is left out, proxy_ndp is off`);
      (link.doc.proxyNdp ??= []).push(a.toString());
    });
    for (const link of ns.links) {
      if (allProxy || (confOf(link.name, 'proxy_arp') ?? 0) !== 0) link.doc.proxyArp = true;
      const rp = Math.max(allRp, confOf(link.name, 'rp_filter') ?? 0);
      if (rp !== 0) {
        this.warnings.add('sysctl-not-modelled', `${sp}/net.ipv4.conf.${escape(link.name.replace(/\./g, '/'))}.rp_filter`, `${ns.dump.name} ${link.name}: rp_filter ${rp} is not modelled (traced as 0)`);
      }
      const f = confOf(link.name, 'forwarding');
      if (f !== undefined && ipForward !== undefined && (f !== 0) !== forwarding) {
        this.warnings.add('sysctl-not-modelled', `${sp}/net.ipv4.conf.${escape(link.name.replace(/\./g, '/'))}.forwarding`, `${ns.dump.name} ${link.name}: forwarding per link is not modelled (the netns's ip_forward is)`);
      }
    }
  }

  // ---- routes ----

  private readRoutes(ns: NsRec) {
    const seen = new Set<string>();
    const routes: RouteDoc[] = [];
    const present = new Set<string>();
    const skippedTables = new Map<string, number>();
    const read = (list: readonly DumpRouteDoc[], key: 'route' | 'route6') =>
      list.forEach((r, j) => {
        const id = JSON.stringify(r);
        if (seen.has(id)) return; // `table all` prints IPv6 routes too: the same entry in route6 is no second route
        seen.add(id);
        const rp = `${ns.pointer}/${key}/${j}`;
        const table = r.table === undefined ? 'main' : String(r.table);
        if (table === 'local' || table === '255') return;
        if (table !== 'main' && table !== '254') {
          skippedTables.set(table, (skippedTables.get(table) ?? 0) + 1);
          this.warnings.add('route-table-skipped', rp, `${ns.dump.name}: ${r.dst} in table ${table}`);
          return;
        }
        const route = this.readRoute(ns, r, rp, key === 'route6', present);
        if (route === undefined) return;
        this.origins.set(`/netns/${ns.index}/routes/${routes.length}`, rp);
        routes.push(route);
      });
    read(ns.dump.route, 'route');
    read(ns.dump.route6 ?? [], 'route6');
    if (routes.length > 0) ns.doc.routes = routes;

    // The other way round: a connected route the fabric derives but the kernel does not hold (deleted, noprefixroute).
    const dumpedV6 = ns.dump.route6 !== undefined || ns.dump.route.some((r) => isV6(r, false));
    for (const link of ns.links) {
      for (const a of derivable(link)) {
        if (a.addr.family === 6 && !dumpedV6) continue;
        if (!present.has(`${a.prefix}|${link.name}`)) {
          this.warnings.add('connected-route-missing', link.pointer, `${ns.dump.name}: ${a.prefix} dev ${link.name} (from ${a}) is not in the dumped table`);
        }
      }
    }
  }

  private readRoute(ns: NsRec, r: DumpRouteDoc, rp: string, fromRoute6: boolean, present: Set<string>): RouteDoc | undefined {
    const type = r.type ?? 'unicast';
    if (SKIPPED_TYPES.has(type)) return undefined;
    if (!ROUTE_TYPES.has(type)) {
      this.warnings.add('route-type-skipped', rp, `${ns.dump.name}: ${type} ${r.dst}`);
      return undefined;
    }
    if ('via' in r) {
      this.warnings.add('route-via-skipped', rp, `${ns.dump.name}: ${r.dst} via ${JSON.stringify((r as { via: unknown }).via)}`);
      return undefined;
    }
    const v6 = isV6(r, fromRoute6);
    const dstText = r.dst === 'default' && v6 ? '::/0' : r.dst;
    let dst: Prefix;
    try {
      dst = Prefix.parseRouteDst(dstText, r.dst === 'default' ? (v6 ? 6 : 4) : undefined);
    } catch (err) {
      this.error(`${rp}/dst`, (err as Error).message);
      return undefined;
    }
    if (dst.family === 6 && (LINK_LOCAL6.contains(dst.addr) || MULTICAST6.contains(dst.addr))) return undefined;

    const doc: RouteDoc = { dst: dstText };
    if (type !== 'unicast') {
      doc.type = type as RouteDoc['type'];
      if (r.metric !== undefined) doc.metric = r.metric;
      if (r.protocol !== undefined) doc.protocol = String(r.protocol).slice(0, 32);
      return doc;
    }
    const gateway = (text: string | undefined, pointer: string): string | undefined => {
      if (text === undefined) return undefined;
      const a = Addr.tryParse(text);
      if (a === undefined) this.error(pointer, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
      return a?.toString();
    };
    const dev = (name: string | undefined, pointer: string): string | undefined | null => {
      if (name === undefined) return undefined;
      if (name === 'lo') return null;
      if (!ns.byName.has(name)) {
        this.error(pointer, `netns ${ns.dump.name} has no link named ${name}`);
        return null;
      }
      return name;
    };

    if (r.nexthops !== undefined) {
      const hops: NextHopDoc[] = [];
      for (const [k, h] of r.nexthops.entries()) {
        const hp = `${rp}/nexthops/${k}`;
        const d = dev(h.dev, `${hp}/dev`);
        if (d === null) {
          if (h.dev === 'lo') this.warnings.add('route-lo-skipped', rp, `${ns.dump.name}: ${r.dst} nexthop dev lo`);
          return undefined;
        }
        if (d === undefined) {
          this.error(`${hp}/dev`, 'a next hop names its device');
          return undefined;
        }
        const gw = gateway(h.gateway, `${hp}/gateway`);
        const hop: NextHopDoc = gw !== undefined ? { gateway: gw, dev: d } : { dev: d };
        if (h.weight !== undefined && h.weight >= 1 && h.weight <= 256) hop.weight = h.weight;
        if (h.flags?.includes('onlink')) hop.flags = ['onlink'];
        hops.push(hop);
      }
      if (hops.length === 0) return undefined;
      doc.nexthops = hops;
    } else {
      const gw = gateway(r.gateway, `${rp}/gateway`);
      if (gw !== undefined) doc.gateway = gw;
      const d = dev(r.dev, `${rp}/dev`);
      if (d === null) {
        if (r.dev === 'lo') this.warnings.add('route-lo-skipped', rp, `${ns.dump.name}: ${r.dst} dev lo`);
        return undefined;
      }
      if (d !== undefined) doc.dev = d;
      if (r.flags?.includes('onlink')) doc.flags = ['onlink'];
    }
    if (r.metric !== undefined) doc.metric = r.metric;
    if (r.scope !== undefined && SCOPES.has(String(r.scope))) doc.scope = String(r.scope) as RouteDoc['scope'];
    if (r.protocol !== undefined) doc.protocol = String(r.protocol).slice(0, 32);
    if (r.prefsrc !== undefined) {
      const a = Addr.tryParse(r.prefsrc);
      if (a === undefined) this.error(`${rp}/prefsrc`, `${JSON.stringify(r.prefsrc)} is not an IPv4 or IPv6 address`);
      else doc.prefsrc = a.toString();
    }

    // A connected route the compiler derives from an address is left to it; one it would not derive is kept.
    if (doc.protocol === 'kernel' && doc.dev !== undefined && doc.gateway === undefined) {
      const link = ns.byName.get(doc.dev)!;
      const key = `${dst}|${link.name}`;
      if (derivable(link).some((a) => a.prefix.toString() === dst.toString())) {
        present.add(key);
        return undefined;
      }
      this.warnings.add(
        'connected-route-kept',
        rp,
        `${ns.dump.name}: ${r.dst} dev ${link.name} proto kernel ${link.up ? '' : `(${link.name} is down) `}is kept as a route`,
      );
    }
    return doc;
  }

  private readNeighbours(ns: NsRec) {
    const neigh: NeighbourDoc[] = [];
    ns.dump.neigh?.forEach((n, j) => {
      const np = `${ns.pointer}/neigh/${j}`;
      const state = n.state ?? [];
      if (n.lladdr === undefined || !MAC.test(n.lladdr) || n.dev === undefined || !ns.byName.has(n.dev)) return;
      if (state.includes('FAILED') || state.includes('INCOMPLETE')) return;
      const a = Addr.tryParse(n.dst);
      if (a === undefined) return this.error(`${np}/dst`, `${JSON.stringify(n.dst)} is not an IPv4 or IPv6 address`);
      if (a.family === 6 && LINK_LOCAL6.contains(a)) return;
      this.origins.set(`/netns/${ns.index}/neigh/${neigh.length}`, np);
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
      if (a === undefined) return this.error(`${fp}/dst`, `${JSON.stringify(e.dst)} is not an IPv4 or IPv6 address`);
      this.origins.set(`/netns/${ns.index}/fdb/${fdb.length}`, fp);
      fdb.push({ mac: e.mac.toLowerCase(), dev, dst: a.toString() });
    });
    if (fdb.length > 0) ns.doc.fdb = fdb;
  }

  // ---- segments ----

  private assignSegments() {
    const physical = this.nss.flatMap((ns) => ns.links.filter((l) => l.doc.kind === 'physical'));
    const segmentOf = new Map<LinkRec, SegmentDoc>();
    const cidrs = new Map<SegmentDoc, Prefix>();
    const names = new Set<string>();

    // Named in the document.
    this.dumps.segments?.forEach((s, i) => {
      const sp = `${this.base}/segments/${i}`;
      if (names.has(s.name)) this.error(`${sp}/name`, `another segment is also named ${s.name}`);
      names.add(s.name);
      const seg: SegmentDoc = { name: s.name };
      this.origins.set(`/segments/${this.segments.length}`, sp);
      this.segments.push(seg);
      if (s.cidr !== undefined) {
        try {
          const cidr = Prefix.parse(s.cidr);
          cidrs.set(seg, cidr);
          seg.cidr = cidr.toString();
        } catch (err) {
          this.error(`${sp}/cidr`, (err as Error).message);
        }
      }
      s.external?.forEach((text, k) => {
        const a = Addr.tryParse(text);
        if (a === undefined) return this.error(`${sp}/external/${k}`, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
        (seg.external ??= []).push(a.toString());
      });
      s.links?.forEach((ref, k) => {
        const lp = `${sp}/links/${k}`;
        const ns = this.nsByName.get(ref.netns);
        const link = ns?.byName.get(ref.link);
        if (ns === undefined) return this.error(`${lp}/netns`, `there is no netns named ${ref.netns} in the dumps`);
        if (link === undefined) return this.error(`${lp}/link`, `netns ${ref.netns} has no link named ${ref.link}`);
        if (link.doc.kind !== 'physical') {
          const why = link.peer ? `a veth whose peer is ${link.peer.ns.dump.name} ${link.peer.name}` : `a ${link.doc.kind}`;
          return this.error(`${lp}/link`, `${ref.netns} ${ref.link} is ${why}; only a physical link is plugged into a segment`);
        }
        const before = segmentOf.get(link);
        if (before !== undefined) return this.error(lp, `${ref.netns} ${ref.link} is already plugged into segment ${before.name}`);
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
      const seg = this.segments.find((s) => cidrs.has(s) && addressesOf(l).some((a) => cidrs.get(s)!.contains(a.addr)));
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
      let c = components.get(root);
      if (c === undefined) components.set(root, (c = { subnets: [], links: [] }));
      c.links.push(l);
      for (const s of subnets) if (!c.subnets.some((x) => x.toString() === s.toString())) c.subnets.push(s);
    }
    const inferred = new Map<SegmentDoc, { subnets: Prefix[]; links: LinkRec[] }>();
    for (const c of components.values()) {
      let name = c.subnets[0]!.toString();
      for (let n = 2; names.has(name); n++) name = `${c.subnets[0]}-${n}`;
      names.add(name);
      const seg: SegmentDoc = { name };
      if (c.subnets.length === 1) {
        seg.cidr = c.subnets[0]!.toString();
        cidrs.set(seg, c.subnets[0]!);
      }
      inferred.set(seg, c);
      for (const l of c.links) segmentOf.set(l, seg);
    }

    // Neighbours nobody in the dumps owns, on a segment's subnet: hosts outside the dumps.
    const owned = new Set(this.nss.flatMap((ns) => ns.links.flatMap((l) => l.addrs.map((a) => a.addr.toString()))));
    for (const ns of this.nss) {
      ns.doc.neigh?.forEach((n, j) => {
        const link = ns.byName.get(n.dev)!;
        const seg = segmentOf.get(link);
        if (seg === undefined || owned.has(n.dst) || seg.external?.includes(n.dst)) return;
        const a = Addr.parse(n.dst);
        const cidr = cidrs.get(seg);
        if (!addressesOf(link).some((x) => x.prefix.contains(a)) || (cidr !== undefined && !cidr.contains(a))) return;
        (seg.external ??= []).push(n.dst);
        this.warnings.add(
          'external-from-neighbour',
          this.origins.get(`/netns/${ns.index}/neigh/${j}`)!,
          `${n.dst} (neighbour of ${ns.dump.name} ${link.name}, ${n.lladdr}) is taken as a host outside the dumps on segment ${seg.name}`,
        );
      });
    }

    for (const [seg, c] of inferred) {
      if (c.links.length < 2 && seg.external === undefined) {
        for (const l of c.links) {
          segmentOf.delete(l);
          this.warnings.add('physical-alone', l.pointer, `${l.ns.dump.name} ${l.name}: no other dumped link is on ${c.subnets.join(', ')}`);
        }
        continue;
      }
      this.segments.push(seg);
      for (const l of c.links) {
        this.warnings.add('segment-inferred', l.pointer, `${l.ns.dump.name} ${l.name} is on segment ${seg.name}`);
      }
    }
    for (const l of physical) {
      const seg = segmentOf.get(l);
      if (seg !== undefined) l.doc.segment = seg.name;
      else if (subnetsOf.get(l)?.length === 0 && l.addrs.length > 0) {
        this.warnings.add('physical-alone', l.pointer, `${l.ns.dump.name} ${l.name}: its addresses are host addresses, on no subnet`);
      }
      if (l.up && l.raw.flags !== undefined && !l.raw.flags.includes('LOWER_UP')) {
        this.warnings.add('no-carrier', l.pointer, `${l.ns.dump.name} ${l.name} is ${l.raw.operstate ?? 'without carrier'}`);
      }
    }
  }
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

/** The addresses of a link the compiler derives a connected route from: those of an up link that is no bridge port. */
function derivable(link: LinkRec): IfAddr[] {
  if (!link.up || link.doc.master !== undefined) return [];
  return link.addrs.filter((a) => a.addr.family === 6 || a.bits < 32);
}

/** The family of a route entry: route6 says so, and so do IPv6 addresses and `pref`, which only IPv6 routes print. */
function isV6(r: DumpRouteDoc, fromRoute6: boolean): boolean {
  if (fromRoute6 || 'pref' in r) return true;
  const texts = [r.dst, r.gateway, r.prefsrc, ...(r.nexthops ?? []).map((h) => h.gateway)];
  return texts.some((t) => t !== undefined && t.includes(':'));
}
