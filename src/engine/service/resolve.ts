// Services by name, for the ends of a trace (`to=svc/<namespace>/<name>` with a port number or name), and what an
// answer says of a destination kube-proxy did not translate: a Service address with no such port, ICMP to a Service,
// an address of the service CIDR that no Service holds.
import type { Addr } from '../addr.js';
import { PROTOCOLS, type ServiceTable } from './table.js';

export const SERVICE_PREFIX = 'svc/';

export class ServiceRefError extends Error {
  constructor(
    message: string,
    readonly reason: 'unknown' | 'port' | 'headless',
    readonly candidates: readonly string[] = [],
  ) {
    super(message);
  }
}

export interface ResolvedService {
  readonly name: string;
  readonly clusterIPs: readonly Addr[];
  readonly port: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
}

/**
 * The ClusterIPs and port of `svc/<namespace>/<name>` (or `svc/<name>` in default): the Service port named or numbered
 * `port` (the only one when not given), of `protocol` when given.
 */
export function resolveService(t: ServiceTable | undefined, text: string, port: number | string | undefined, protocol: string | undefined): ResolvedService {
  const parts = text.slice(SERVICE_PREFIX.length).split('/');
  const [namespace, name] = parts.length === 1 ? ['default', parts[0]!] : [parts[0]!, parts.slice(1).join('/')];
  const index = t?.services.findIndex((s) => s.namespace === namespace && s.name === name) ?? -1;
  if (t === undefined || index < 0) {
    const all = (t?.services ?? []).map((s) => `${SERVICE_PREFIX}${s.namespace}/${s.name}`);
    const similar = all.filter((s) => s.includes(name)).sort().slice(0, 10);
    throw new ServiceRefError(`there is no Service ${namespace}/${name} in this topology`, 'unknown', similar);
  }
  const svc = t.services[index]!;
  const ports: number[] = [];
  for (let sp = 0; sp < t.size; sp++) if (t.spService[sp] === index && t.spFamily[sp] === svc.clusterIPs[0]?.family) ports.push(sp);
  if (ports.length === 0) {
    throw new ServiceRefError(`${namespace}/${name} has no ClusterIP (headless or ExternalName) or no ports: kube-proxy programs nothing for it`, 'headless');
  }
  const label = (sp: number) => `${t.spPortName[sp] ? `${t.spPortName[sp]} ` : ''}${t.spPort[sp]}/${PROTOCOLS[t.spProto[sp]!]}`;
  const proto = protocol === undefined || protocol === 'icmp' ? undefined : protocol.toUpperCase();
  const matching = ports.filter(
    (sp) => (port === undefined || t.spPort[sp] === port || t.spPortName[sp] === port) && (proto === undefined || PROTOCOLS[t.spProto[sp]!] === proto),
  );
  if (matching.length !== 1) {
    const what = port === undefined ? 'say which with port' : `it has no port ${port}${proto ? `/${proto}` : ''}`;
    throw new ServiceRefError(`${namespace}/${name} has ${ports.length} port${ports.length === 1 ? '' : 's'} (${ports.map(label).join(', ')}): ${what}`, 'port', ports.map(label));
  }
  const sp = matching[0]!;
  return {
    name: `${SERVICE_PREFIX}${namespace}/${name}`,
    clusterIPs: svc.clusterIPs,
    port: t.spPort[sp]!,
    protocol: PROTOCOLS[t.spProto[sp]!]!.toLowerCase() as 'tcp' | 'udp' | 'sctp',
  };
}

/** What the answer notes of a destination that no Service rule translated. */
export function untranslatedNotes(t: ServiceTable | undefined, dst: Addr, protocol: string, port: number | undefined): string[] {
  if (t === undefined) return [];
  const nftables = t.config.mode === 'nftables';
  const held = t.servicesAt(dst);
  if (held.length > 0) {
    const names = held.map((i) => `${t.services[i]!.namespace}/${t.services[i]!.name}`).join(', ');
    const ports: string[] = [];
    for (let sp = 0; sp < t.size; sp++) {
      if (held.includes(t.spService[sp]!) && t.spFamily[sp] === dst.family) ports.push(`${t.spPort[sp]}/${PROTOCOLS[t.spProto[sp]!]}`);
    }
    // The nftables mode rejects what it does not translate to a ClusterIP where a node forwards or sends it (its
    // cluster-ips-check; not to an externalIP or load-balancer IP); the other modes leave it to the routing.
    const rejected = nftables && t.clusterIP(dst.family, dst.w0, dst.w1, dst.w2, dst.w3) >= 0 ? ': kube-proxy\'s nftables mode rejects it where a node forwards or sends it (cluster-ips-check)' : '';
    const said =
      protocol === 'icmp'
        ? `${dst} is an address of Service ${names}; kube-proxy translates only ${ports.join(', ')}, so ICMP to it ${rejected ? 'is not translated' : 'is routed as to any other address (a ClusterIP answers no ping)'}${rejected}`
        : `${dst} is an address of Service ${names}, which has no port ${port ?? '(none given)'}/${protocol.toUpperCase()} (its ports: ${ports.join(', ')})${rejected || ': kube-proxy leaves the packet as it is'}`;
    return t.config.mode === 'ipvs' ? [said, ipvsNote(dst, protocol)] : [said];
  }
  const cidr = t.serviceCIDRs.find((p) => p.contains(dst));
  if (cidr !== undefined) {
    const rule = nftables ? 'kube-proxy\'s nftables mode drops it where a node forwards or sends it (cluster-ips-check)' : 'kube-proxy has no rule for it';
    return [`${dst} is in the service CIDR ${cidr}, and no Service holds it: ${rule}`];
  }
  return [];
}


/**
 * What an answer through a Service says where Cilium's kube-proxy replacement translates it: where the translation
 * really happens, and that the candidates and the choice among them are kube-proxy's.
 */
export function replacementNote(t: ServiceTable | undefined): string[] {
  if (t?.replacedBy !== 'cilium') return [];
  return [
    "Cilium's kube-proxy replacement (cilium-config kube-proxy-replacement) translates Services in this cluster, not kube-proxy: " +
      "a pod's connection to a ClusterIP is translated at its socket (connect(), before the packet exists) or at the tc hook of " +
      'its lxc device, and NodePort, externalIP and load-balancer traffic at the tc (or XDP) hook of the node\'s device, not in ' +
      "iptables' nat table. The DNAT step is shown in the node where kube-proxy's rules would match; the endpoints Cilium may " +
      'choose are the same (EndpointSlice conditions, traffic policies, the terminating fallback), and so is the outcome traced',
  ];
}

/**
 * Where kube-proxy's ipvs mode parts from the iptables rules the trace follows: it binds every ClusterIP, externalIP and
 * load-balancer IP to the kube-ipvs0 dummy device of every node, so a node takes any packet to them as its own, and only
 * the Service's ports reach IPVS.
 */
function ipvsNote(dst: Addr, protocol: string): string {
  return (
    `kube-proxy runs in ipvs mode, which binds every Service address to the kube-ipvs0 device of every node: a node takes a packet to ${dst} ` +
    `as its own, so ${protocol === 'icmp' ? 'it answers the ping itself' : `it answers ${protocol.toUpperCase()} to that port itself (a reset, or ICMP port unreachable)`} ` +
    'where the iptables rules traced here route the packet on; the Service ports themselves are translated alike'
  );
}
