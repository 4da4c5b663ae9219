// The rules kube-proxy's iptables mode (the default mode) writes into one node, for the Services of a cluster document:
// `iptables-restore` input for the filter and nat tables, written from the Service and EndpointSlice objects (through
// servicePorts, shared with the nftables writer: the same CategorizeEndpoints facts both proxiers start from), not from
// the engine's service table. The rules mirror syncProxyRules and iptablesJumpChains of pkg/proxy/iptables/proxier.go
// in kubernetes/kubernetes at commit b0f823e6ccd8a10b3893fc75011b9981af39285c (the commit kube-proxy-nft.ts follows):
//   nat: PREROUTING and OUTPUT jump to KUBE-SERVICES, POSTROUTING to KUBE-POSTROUTING (masquerade what carries the mark
//   0x4000, clearing it); KUBE-SERVICES sends a ClusterIP with internal endpoints to its internal policy chain
//   (KUBE-SVC-* or, internalTrafficPolicy Local, KUBE-SVL-*), and last of all every local destination address
//   (`-m addrtype --dst-type LOCAL`: the default nodePortAddresses, 127.0.0.1 included with localhostNodePorts) to
//   KUBE-NODEPORTS, which sends a NodePort with endpoints to KUBE-EXT-*; the policy chain marks off-cluster sources
//   (`! -s clusterCIDR`, or everything with masqueradeAll) for masquerade, KUBE-EXT-* masquerades (Cluster policy) or
//   short-circuits pods and the node itself (Local policy); the policy chains pick an endpoint with `-m statistic --mode
//   random` and KUBE-SEP-* marks a hairpin and DNATs.
//   filter: KUBE-SERVICES (FORWARD, OUTPUT, new connections) REJECTs a ClusterIP without endpoints and DROPs one whose
//   internalTrafficPolicy Local finds none on the node; KUBE-EXTERNAL-SERVICES (INPUT, FORWARD) REJECTs a NodePort
//   without endpoints and DROPs one whose externalTrafficPolicy Local finds none on the node; KUBE-FORWARD drops
//   conntrack INVALID packets (nf_conntrack_tcp_be_liberal unset) and accepts marked and established ones;
//   KUBE-FIREWALL (kubelet's, written with localhostNodePorts) drops packets to 127.0.0.0/8 from elsewhere that were
//   not DNATed; KUBE-PROXY-FIREWALL and KUBE-NODEPORTS (filter) are empty: no Service here has loadBalancerSourceRanges
//   or a healthCheckNodePort.
// Left out: the nfacct-counted copy of the 127.0.0.0/8 NodePort rule (it only counts: the addrtype rule after it
// catches the same packets), session affinity and the load-balancer chains (KUBE-FW-*), which no check here uses;
// chain names are kube-proxy's own (the base32 of a SHA-256). Added for the test and changing no verdict: the
// endpoints a check pins are the only ones a policy chain picks among (kube-proxy-nft.ts does the same), so that the
// kernel is deterministic; which node translated, rejected or dropped is read from iptables-save's counters.
import { createHash } from 'node:crypto';
import type { ClusterDoc } from '../../src/topology/schema.js';
import { servicePorts, type Endpoint } from './kube-proxy-nft.js';

const MASQ_MARK = '0x4000';
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** portProtoHash: the first 16 characters of the base32 of SHA-256(name + protocol). */
function hash(text: string): string {
  const bytes = createHash('sha256').update(text).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/**
 * `iptables-restore` input that replaces the filter and nat tables of `node` with kube-proxy's rules for the cluster,
 * with its kubeProxy configuration (clusterCIDR as the local detector, iptables.masqueradeAll); `pins` names the
 * endpoint (address) a check pins, per Service (`namespace/name`).
 */
export function kubeProxyIptablesRules(cluster: ClusterDoc, node: string, pins: ReadonlyMap<string, string> = new Map()): string {
  const clusterCIDR = cluster.kubeProxy!.clusterCIDR!;
  const masqueradeAll = cluster.kubeProxy?.iptables?.masqueradeAll ?? false;
  const natChains = new Map<string, string[]>();
  const nat = (name: string) => {
    let rules = natChains.get(name);
    if (rules === undefined) natChains.set(name, (rules = []));
    return rules;
  };
  for (const name of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) nat(name);
  const filterServices: string[] = [];
  const filterExternal: string[] = [];

  nat('KUBE-POSTROUTING').push(
    `-m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
    `-j MARK --xor-mark ${MASQ_MARK}`,
    '-j MASQUERADE --random-fully',
  );
  nat('KUBE-MARK-MASQ').push(`-j MARK --or-mark ${MASQ_MARK}`);

  for (const p of servicePorts(cluster, node)) {
    const { protocol, clusterIP, all, local, hasEndpoints, hasInternal, hasExternal } = p;
    const pin = pins.get(`${p.namespace}/${p.name}`);
    const clusterChain = `KUBE-SVC-${hash(p.portName + protocol)}`;
    const localChain = `KUBE-SVL-${hash(p.portName + protocol)}`;
    const externalChain = `KUBE-EXT-${hash(p.portName + protocol)}`;
    const internalChain = p.internalLocal ? localChain : clusterChain;
    const externalPolicyChain = p.externalLocal ? localChain : clusterChain;
    // No endpoint anywhere: REJECT; endpoints, but none this policy may use on this node: DROP.
    const filterTarget = hasEndpoints ? 'DROP' : 'REJECT';
    const match = `-p ${protocol} -m ${protocol}`;
    const vip = `${match} -d ${clusterIP}/32 --dport ${p.port}`;

    if (hasInternal) nat('KUBE-SERVICES').push(`${vip} -j ${internalChain}`);
    else filterServices.push(`${vip} -j ${filterTarget}`);
    for (const ip of p.externalIPs) {
      if (hasEndpoints) nat('KUBE-SERVICES').push(`${match} -d ${ip}/32 --dport ${p.port} -j ${externalChain}`);
      if (!hasExternal) filterExternal.push(`${match} -d ${ip}/32 --dport ${p.port} -j ${filterTarget}`);
    }
    if (p.nodePort > 0) {
      if (hasEndpoints) nat('KUBE-NODEPORTS').push(`${match} --dport ${p.nodePort} -j ${externalChain}`);
      if (!hasExternal) filterExternal.push(`-m addrtype --dst-type LOCAL ${match} --dport ${p.nodePort} -j ${filterTarget}`);
    }
    if (hasInternal) {
      nat(internalChain).push(`${vip} ${masqueradeAll ? '' : `! -s ${clusterCIDR} `}-j KUBE-MARK-MASQ`);
    }
    if (hasEndpoints && p.externallyAccessible) {
      const ext = nat(externalChain);
      if (!p.externalLocal) ext.push('-j KUBE-MARK-MASQ');
      else ext.push(`-s ${clusterCIDR} -j ${clusterChain}`, '-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ', `-m addrtype --src-type LOCAL -j ${clusterChain}`);
      if (hasExternal) ext.push(`-j ${externalPolicyChain}`);
    }
    const endpointChain = (e: Endpoint) => `KUBE-SEP-${hash(p.portName + protocol + `${e.ip}:${e.port}`)}`;
    // writeServiceToEndpointRules: endpoint i of n is taken with probability 1/(n-i), the last one always.
    const dispatch = (chainName: string, eps: Endpoint[]) => {
      const pinned = pin === undefined ? [] : eps.filter((e) => e.ip === pin);
      const chosen = pinned.length > 0 ? pinned : eps;
      chosen.forEach((e, i) => {
        const left = chosen.length - i;
        nat(chainName).push(left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} -j ${endpointChain(e)}` : `-j ${endpointChain(e)}`);
      });
    };
    if (p.usesCluster && all.length > 0) dispatch(clusterChain, all);
    if (p.usesLocal && local.length > 0) dispatch(localChain, local);
    for (const e of new Set([...(p.usesCluster ? all : []), ...(p.usesLocal ? local : [])])) {
      const rules = nat(endpointChain(e));
      if (rules.length > 0) continue;
      rules.push(`-s ${e.ip}/32 -j KUBE-MARK-MASQ`, `${match} -j DNAT --to-destination ${e.ip}:${e.port}`);
    }
  }
  // The tail call: every local destination address, after every Service rule.
  nat('KUBE-SERVICES').push('-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');

  const newOnly = '-m conntrack --ctstate NEW';
  const filter = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL'].map((c) => `:${c} - [0:0]`),
    // Each EnsureRule(Prepend) puts its jump first: the last of iptablesJumpChains for a chain ends up on top.
    '-A INPUT -j KUBE-FIREWALL',
    `-A INPUT ${newOnly} -j KUBE-PROXY-FIREWALL`,
    '-A INPUT -j KUBE-NODEPORTS',
    `-A INPUT ${newOnly} -j KUBE-EXTERNAL-SERVICES`,
    `-A FORWARD ${newOnly} -j KUBE-PROXY-FIREWALL`,
    '-A FORWARD -j KUBE-FORWARD',
    `-A FORWARD ${newOnly} -j KUBE-SERVICES`,
    `-A FORWARD ${newOnly} -j KUBE-EXTERNAL-SERVICES`,
    '-A OUTPUT -j KUBE-FIREWALL',
    `-A OUTPUT ${newOnly} -j KUBE-PROXY-FIREWALL`,
    `-A OUTPUT ${newOnly} -j KUBE-SERVICES`,
    ...filterServices.map((r) => `-A KUBE-SERVICES ${r}`),
    ...filterExternal.map((r) => `-A KUBE-EXTERNAL-SERVICES ${r}`),
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    `-A KUBE-FORWARD -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
    '-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A KUBE-FIREWALL -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    'COMMIT',
  ];
  const natLines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...[...natChains.keys()].map((c) => `:${c} - [0:0]`),
    '-A PREROUTING -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-SERVICES',
    '-A POSTROUTING -j KUBE-POSTROUTING',
    ...[...natChains].flatMap(([c, rules]) => rules.map((r) => `-A ${c} ${r}`)),
    'COMMIT',
  ];
  return `${[...filter, ...natLines].join('\n')}\n`;
}
