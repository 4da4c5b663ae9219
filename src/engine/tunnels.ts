// What a tunnel link needs to find the far end of a packet: the permanent neighbours (next hop → MAC) and the VXLAN FDB
// (MAC → remote endpoint) of each netns, and Cilium's ipcache (prefix → tunnel endpoint) of each external-mode link. A
// compiler may hand the same neighbour, FDB or ipcache list to many netns (every flannel node holds an entry per other
// node): each distinct list is indexed once, and lookups read integer arrays, hash tables of addresses and LPM tries
// only, MACs being numbered.
import type { Addr } from './addr.js';
import { AddressMap } from './address-map.js';
import { Lpm } from './lpm.js';
import { Prefix } from './prefix.js';
import type { FdbEntry, IpcacheEntry, Link, Neighbour, Netns } from './fabric.js';
import type { Owners } from './owners.js';

/**
 * Ints per neighbour entry in `neighChain`: the device index, the next entry of the same address (-1 at the end), the
 * MAC, and the remote endpoint the FDB of the netns gives that MAC on that device (-1 for none): what a VXLAN link needs
 * to send is one 16-byte entry.
 */
const NEIGH = 4;
/**
 * Ints per tunnel link in `nsTunnels`: tunnel kind, UDP port, VNI, its ipcache's number (-1 none; an ipcache makes it an
 * external-mode link), outer family (of `local`, else 4), up (1/0), MAC number (-1 none), the link's id. 32 bytes, so a
 * tunnel's facts are one cache line, and a sending and a receiving tunnel are both found there: the walk reads no array
 * indexed by link id, which at 150,000 pods is megabytes of mostly other links.
 */
const FACTS = 8;
const IPCACHE = 3;
const MAC = 6;
const RX_LINK = 7;
const VXLAN = 1;
const GENEVE = 2;
const IPIP = 3;
const KIND_CODES: Partial<Record<Link['kind'], number>> = { vxlan: VXLAN, geneve: GENEVE, ipip: IPIP };
/** An endpoint whose owner entry nobody has asked for yet. */
const UNKNOWN = -2;

/** A trie per family over the prefixes of one ipcache. */
interface FamilyLpms {
  readonly lpm4: Lpm;
  readonly lpm6: Lpm;
}

const familyLpms = (entries: readonly { prefix: Prefix; value: number }[]): FamilyLpms => ({
  lpm4: new Lpm(4, entries.filter((e) => e.prefix.family === 4)),
  lpm6: new Lpm(6, entries.filter((e) => e.prefix.family === 6)),
});

export class Tunnels {
  /** MAC addresses by number. */
  readonly macs: string[] = [];
  /** Remote endpoints by number: FDB destinations and ipcache tunnel endpoints. */
  readonly endpoints: Addr[] = [];
  private readonly macIds = new Map<string, number>();
  private readonly endpointIds = new Map<string, number>();
  /** Per endpoint, its first owner entry (see Owners), filled in the first time a walk asks. */
  private endpointOwners = new Int32Array(0);
  /** Per netns, its neighbour index (-1 for none): one per distinct pair of neighbour and FDB lists. */
  private readonly nsNeigh: Int32Array;
  private readonly neighIndexes: AddressMap[] = [];
  private neighChain = new Int32Array(0);
  /** Per link, its ipcache index, or -1 (for explanations; the walk reads the tunnel's facts). */
  private readonly linkIpcache: Int32Array;
  private readonly ipcaches: FamilyLpms[] = [];
  /** Per endpoint, its family and words, so that routing the outer packet reads no Addr object. */
  private readonly endpointWords: Int32Array;
  /** The tunnel links of each netns with their facts: nsTunnels[nsTunnelStart[ns] .. nsTunnelStart[ns + 1]). */
  private readonly nsTunnelStart: Int32Array;
  private readonly nsTunnels: Int32Array;

  constructor(netns: readonly Netns[], links: readonly Link[]) {
    this.nsNeigh = new Int32Array(netns.length).fill(-1);
    const indexes = new Map<readonly Neighbour[], Map<readonly FdbEntry[], number>>();
    const fdbs = new Map<readonly FdbEntry[], Map<number, number>>();
    const chain: number[] = [];
    for (const ns of netns) {
      if (ns.neigh.length === 0) continue;
      let byFdb = indexes.get(ns.neigh);
      if (byFdb === undefined) indexes.set(ns.neigh, (byFdb = new Map()));
      let id = byFdb.get(ns.fdb);
      if (id === undefined) {
        let fdb = fdbs.get(ns.fdb);
        if (fdb === undefined) fdbs.set(ns.fdb, (fdb = this.indexFdb(ns.fdb)));
        byFdb.set(ns.fdb, (id = this.indexNeighbours(ns.neigh, fdb, chain)));
      }
      this.nsNeigh[ns.id] = id;
    }
    this.neighChain = Int32Array.from(chain);

    this.linkIpcache = new Int32Array(links.length).fill(-1);
    const ipcacheLists = new Map<readonly IpcacheEntry[], number>();
    for (const l of links) {
      const list = l.tunnel?.ipcache;
      if (list === undefined || list.length === 0) continue;
      let id = ipcacheLists.get(list);
      if (id === undefined) {
        const entries = list.map((e) => ({ prefix: e.prefix, value: this.endpoint(e.tunnelEndpoint) }));
        id = this.ipcaches.length;
        this.ipcaches.push(familyLpms(entries));
        ipcacheLists.set(list, id);
      }
      this.linkIpcache[l.id] = id;
    }
    // A node has dozens of pod veths and one or two tunnels: a tunnel's facts are kept next to its netns's others.
    this.nsTunnelStart = new Int32Array(netns.length + 1);
    const tunnelLinks: Link[] = [];
    for (const ns of netns) {
      this.nsTunnelStart[ns.id] = tunnelLinks.length * FACTS;
      for (const l of ns.links) if (l.tunnel !== undefined) tunnelLinks.push(l);
    }
    this.nsTunnelStart[netns.length] = tunnelLinks.length * FACTS;
    const t = (this.nsTunnels = new Int32Array(tunnelLinks.length * FACTS));
    for (const [i, l] of tunnelLinks.entries()) {
      const g = i * FACTS;
      t[g] = KIND_CODES[l.kind] ?? 0;
      t[g + 1] = l.tunnel!.port;
      t[g + 2] = l.tunnel!.vni;
      t[g + IPCACHE] = this.linkIpcache[l.id]!;
      t[g + 4] = l.tunnel!.local?.family ?? 4;
      t[g + 5] = l.up ? 1 : 0;
      t[g + MAC] = l.mac === undefined ? -1 : this.mac(l.mac);
      t[g + RX_LINK] = l.id;
    }
    this.endpointOwners = new Int32Array(this.endpoints.length).fill(UNKNOWN);
    this.endpointWords = new Int32Array(this.endpoints.length * 5);
    for (const [i, a] of this.endpoints.entries()) this.endpointWords.set([a.family, a.w0, a.w1, a.w2, a.w3], i * 5);
  }

  /** The permanent neighbour entry of netns `ns` for the address w0..w3 on device `dev`, or -1. */
  neighbour(ns: number, dev: number, family: 4 | 6, w0: number, w1: number, w2: number, w3: number): number {
    const id = this.nsNeigh[ns]!;
    if (id < 0) return -1;
    let e = this.neighIndexes[id]!.get(family, w0, w1, w2, w3);
    const chain = this.neighChain;
    for (; e >= 0; e = chain[e * NEIGH + 1]!) if (chain[e * NEIGH] === dev) return e;
    return -1;
  }

  /** The MAC number a neighbour entry gives. */
  neighbourMac(entry: number): number {
    return this.neighChain[entry * NEIGH + 2]!;
  }

  /** The remote endpoint the netns's FDB gives the MAC of a neighbour entry on its device, or -1. */
  remote(entry: number): number {
    return this.neighChain[entry * NEIGH + 3]!;
  }

  /** The first owner entry of endpoint number `ref` (see Owners), or -1: looked up once per endpoint. */
  endpointOwner(ref: number, owners: Owners): number {
    let o = this.endpointOwners[ref]!;
    if (o === UNKNOWN) this.endpointOwners[ref] = o = owners.first(this.endpoints[ref]!);
    return o;
  }

  /** The family of endpoint number `ref`. */
  endpointFamily(ref: number): 4 | 6 {
    return this.endpointWords[ref * 5] as 4 | 6;
  }

  /** Word `w` (0-3) of endpoint number `ref`'s address. */
  endpointWord(ref: number, w: number): number {
    return this.endpointWords[ref * 5 + 1 + w]! >>> 0;
  }

  /** Whether the link forwards by an ipcache (Cilium's external-mode tunnel). */
  hasIpcache(link: number): boolean {
    return this.linkIpcache[link]! >= 0;
  }

  /** The tunnel link `link` of netns `ns`, as the number of its facts that ipcache() and receiver() take. */
  tunnel(ns: number, link: number): number {
    let g = this.nsTunnelStart[ns]!;
    while (this.nsTunnels[g + RX_LINK] !== link) g += FACTS;
    return g;
  }

  /** The tunnel endpoint the ipcache of tunnel `tunnel` (an external-mode link's) gives the address w0..w3, or -1. */
  ipcache(tunnel: number, family: 4 | 6, w0: number, w1: number, w2: number, w3: number): number {
    const index = this.ipcaches[this.nsTunnels[tunnel + IPCACHE]!]!;
    return family === 4 ? index.lpm4.lookup4(w0) : index.lpm6.lookup6(w0, w1, w2, w3);
  }

  /** The ipcache entry whose prefix the link's lookup for `dst` matched (for explanations), or undefined. */
  ipcacheEntry(link: Link, dst: Addr): { prefix: Prefix; tunnelEndpoint: Addr } | undefined {
    const id = this.linkIpcache[link.id]!;
    if (id < 0) return undefined;
    const index = this.ipcaches[id]!;
    const match = (dst.family === 4 ? index.lpm4 : index.lpm6).matches(dst)[0];
    return match === undefined ? undefined : { prefix: match.prefix, tunnelEndpoint: this.endpoints[match.value]! };
  }

  /**
   * The tunnel link of netns `ns` that takes an outer packet sent by tunnel `s` (see tunnel()), or -1: IP-in-IP goes
   * to any ipip link that is up (Calico's tunl0 has neither local nor remote, so it takes every sender); VXLAN and Geneve
   * to a link of the same kind, outer family (its socket's) and UDP port with the same VNI, or to an external-mode one
   * (which takes any VNI). A sender that names the MAC of the link it sends to (`mac` ≥ 0, from its neighbour entry)
   * reaches a link with another MAC only to be dropped: `wrongMac` tells.
   */
  receiver(ns: number, s: number): number {
    const t = this.nsTunnels;
    for (let g = this.nsTunnelStart[ns]!, end = this.nsTunnelStart[ns + 1]!; g < end; g += FACTS) {
      if (t[g] !== t[s] || t[g + 5] === 0 || t[g + 4] !== t[s + 4]) continue;
      if (t[g] === IPIP) return g;
      if (t[g + 1] === t[s + 1] && (t[g + IPCACHE]! >= 0 || t[g + 2] === t[s + 2])) return g;
    }
    return -1;
  }

  /** The link of a receiver() answer. */
  receiverLink(rx: number): number {
    return this.nsTunnels[rx + RX_LINK]!;
  }

  /** Whether a receiver() answer has a MAC other than `mac` (a MAC number, or -1 for none asked). */
  wrongMac(rx: number, mac: number): boolean {
    const own = this.nsTunnels[rx + MAC]!;
    return mac >= 0 && own >= 0 && own !== mac;
  }

  private mac(mac: string): number {
    let id = this.macIds.get(mac);
    if (id === undefined) {
      this.macIds.set(mac, (id = this.macs.length));
      this.macs.push(mac);
    }
    return id;
  }

  private endpoint(a: Addr): number {
    const key = a.toString();
    let id = this.endpointIds.get(key);
    if (id === undefined) {
      this.endpointIds.set(key, (id = this.endpoints.length));
      this.endpoints.push(a);
    }
    return id;
  }

  private indexNeighbours(list: readonly Neighbour[], fdb: ReadonlyMap<number, number>, chain: number[]): number {
    // Per address, the first and last entry so far: a later entry of the same address and device replaces the earlier
    // one (`ip neigh replace`), an entry on another device joins the chain.
    const heads = new Map<string, number>();
    const entries: { addr: Addr; value: number }[] = [];
    for (const n of list) {
      const key = n.dst.toString();
      const mac = this.mac(n.lladdr);
      const remote = fdb.get(mac * 65536 + n.dev) ?? -1;
      let e = heads.get(key);
      let replaced = false;
      for (let x = e ?? -1; x >= 0; x = chain[x * NEIGH + 1]!) {
        if (chain[x * NEIGH] === n.dev) {
          chain[x * NEIGH + 2] = mac;
          chain[x * NEIGH + 3] = remote;
          replaced = true;
        }
      }
      if (replaced) continue;
      const at = chain.length / NEIGH;
      chain.push(n.dev, e ?? -1, mac, remote);
      e = at;
      if (!heads.has(key)) entries.push({ addr: n.dst, value: -1 });
      heads.set(key, e);
    }
    for (const entry of entries) entry.value = heads.get(entry.addr.toString())!;
    const id = this.neighIndexes.length;
    this.neighIndexes.push(new AddressMap(entries));
    return id;
  }

  /** (MAC number, device index) → endpoint number: the FDB as the neighbour entries of the netns holding it read it. */
  private indexFdb(list: readonly FdbEntry[]): Map<number, number> {
    // `bridge fdb append` adds destinations to a MAC (head-end replication for broadcasts); unicast goes to the first.
    const map = new Map<number, number>();
    for (const e of list) {
      const key = this.mac(e.mac) * 65536 + e.dev;
      if (!map.has(key)) map.set(key, this.endpoint(e.dst));
    }
    return map;
  }
}
