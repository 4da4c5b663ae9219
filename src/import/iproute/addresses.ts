// Addresses from addr_info, without lo, host-scope addresses and the link-local IPv6 addresses no dumped route names as its
// gateway (every link has one; Calico's pods route via fe80::ecee:eeff:feee:eeee, which their node must own).
import { Addr } from '../../engine/addr.js';
import { IfAddr } from '../../engine/ifaddr.js';
import { LINK_LOCAL6, type Conversion, type NsRec } from './conversion.js';

/** Notes the link-local IPv6 gateways of every dumped route, before any address is read. */
export function readLinkLocalGateways(c: Conversion) {
  for (const d of c.dumps.netns) {
    for (const r of [...d.route, ...(d.route6 ?? [])]) {
      for (const gw of [r.gateway, ...(r.nexthops ?? []).map((n) => n.gateway)]) {
        const a = gw === undefined ? undefined : Addr.tryParse(gw);
        if (a?.family === 6 && LINK_LOCAL6.contains(a)) c.linkLocalGateways.add(a.toString());
      }
    }
  }
}

export function readAddresses(c: Conversion, ns: NsRec) {
  ns.dump.addr.forEach((entry, j) => {
    const ap = `${ns.pointer}/addr/${j}`;
    if (entry.ifname === 'lo') return;
    const link = ns.byName.get(entry.ifname);
    const infos = (entry.addr_info ?? []).filter((a) => a.local !== undefined);
    if (link === undefined) {
      if (infos.length > 0) c.warn('address-unknown-link', ap, `${ns.dump.name} has no link ${entry.ifname} in its link dump`);
      return;
    }
    (entry.addr_info ?? []).forEach((info, k) => {
      const ip = `${ap}/addr_info/${k}`;
      if (info.local === undefined) return;
      if (info.scope === 'host') return;
      const a = Addr.tryParse(info.local);
      if (a === undefined) return c.error(`${ip}/local`, `${JSON.stringify(info.local)} is not an IPv4 or IPv6 address`);
      if (a.family === 6 && LINK_LOCAL6.contains(a) && !c.linkLocalGateways.has(a.toString())) return;
      const bits = info.prefixlen ?? a.bits;
      if (bits > a.bits) return c.error(`${ip}/prefixlen`, `${bits} is longer than an IPv${a.family} address`);
      if (info.dadfailed) return c.warn('address-dadfailed', ip, `${a}/${bits} on ${ns.dump.name} ${link.name}`);
      if (info.address !== undefined && info.address !== info.local) {
        c.warn('address-peer', ip, `${a} peer ${info.address} on ${ns.dump.name} ${link.name}: the peer is left out`);
      }
      const ifaddr = IfAddr.of(a, bits);
      if (link.addrs.some((x) => x.equals(ifaddr))) return;
      link.addrs.push(ifaddr);
      (link.doc.addresses ??= []).push(ifaddr.toString());
    });
  });
}
