// Forwarding and proxy ARP from the sysctls (forwarding defaults to on for nodes and routers, off for pods and hosts);
// proxy NDP entries from `ip -j neigh show proxy`, where proxy_ndp is on. What changes forwarding decisions but is not
// modelled (rp_filter, per-link forwarding, an IPv6 forwarding unlike IPv4's) is warned about.
import { Addr } from '../../engine/addr.js';
import { pointerToken } from '../../topology/data-error.js';
import type { Conversion, NsRec } from './conversion.js';

export function readSysctls(c: Conversion, ns: NsRec) {
  const values = new Map<string, number>();
  for (const [key, value] of Object.entries(ns.dump.sysctl ?? {})) {
    const n = typeof value === 'number' ? value : /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
    if (Number.isInteger(n)) values.set(key.trim(), n);
    else c.error(`${ns.pointer}/sysctl/${pointerToken(key)}`, `${JSON.stringify(value)} is not an integer`);
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
    c.warn('sysctl-not-modelled', `${sp}/net.ipv6.conf.all.forwarding`, `${ns.dump.name}: IPv6 forwarding is ${v6 ? 'on' : 'off'} and IPv4 forwarding ${forwarding ? 'on' : 'off'}; the fabric has one setting (IPv4's) for both`);
  }
  // ECMP: one policy for both families (policies 2 and 3 hash fields the fabric cannot name); seed 0 is the per-boot key.
  const policy = values.get('net.ipv4.fib_multipath_hash_policy') ?? 0;
  const policy6 = values.get('net.ipv6.fib_multipath_hash_policy') ?? policy;
  if (policy === 1) ns.doc.multipathHashPolicy = 1;
  if (policy > 1 || policy6 !== policy) {
    c.warn('sysctl-not-modelled', `${sp}/net.ipv${policy > 1 ? 4 : 6}.fib_multipath_hash_policy`, `${ns.dump.name}: multipath hash policy ${policy} (IPv4) and ${policy6} (IPv6); the fabric models policies 0 and 1, one for both families (IPv4's, 0 for a custom one)`);
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
    if (!on) return c.warn('proxy-ndp-off', ep, `${ns.dump.name} ${link.name}: proxy ${a} is left out, proxy_ndp is off`);
    (link.doc.proxyNdp ??= []).push(a.toString());
  });
  for (const link of ns.links) {
    if (allProxy || (confOf(link.name, 'proxy_arp') ?? 0) !== 0) link.doc.proxyArp = true;
    const rp = Math.max(allRp, confOf(link.name, 'rp_filter') ?? 0);
    if (rp !== 0) {
      c.warn('sysctl-not-modelled', `${sp}/net.ipv4.conf.${pointerToken(link.name.replace(/\./g, '/'))}.rp_filter`, `${ns.dump.name} ${link.name}: rp_filter ${rp} is not modelled (traced as 0)`);
    }
    const f = confOf(link.name, 'forwarding');
    if (f !== undefined && ipForward !== undefined && (f !== 0) !== forwarding) {
      c.warn('sysctl-not-modelled', `${sp}/net.ipv4.conf.${pointerToken(link.name.replace(/\./g, '/'))}.forwarding`, `${ns.dump.name} ${link.name}: forwarding per link is not modelled (the netns's ip_forward is)`);
    }
  }
}
