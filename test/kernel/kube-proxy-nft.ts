// The rules kube-proxy's nftables mode writes into one node, for the Services of a cluster document: written here from
// the Service and EndpointSlice objects themselves (not from the engine's service table), so that the kernel running
// them is a reference the engine does not share code with. The chain structure mirrors syncProxyRules and setupNFTables
// of pkg/proxy/nftables/proxier.go in kubernetes/kubernetes at commit b0f823e6ccd8a10b3893fc75011b9981af39285c:
//   base chains filter-{prerouting,input,forward,output} at dstnat-10, filter-output-post-dnat at dstnat+10,
//   nat-{prerouting,output} at dstnat and nat-postrouting at srcnat; `services` dispatches by the service-ips map
//   (ClusterIP, externalIP, load-balancer IP) and, for the addresses of the nodeport-ips set (the node's primary IP:
//   the nftables mode's default nodePortAddresses), the service-nodeports map; per Service port a cluster policy chain
//   (service-…), a local one (local-…) and an external one (external-…), `numgen random mod N vmap` over endpoint
//   chains (endpoint-…: mark a hairpin for masquerade, then dnat); mark-for-masquerade sets the mark 0x4000 and
//   `masquerading` (nat-postrouting) masquerades what carries it; the no-endpoint-services and no-endpoint-nodeports
//   maps (service-endpoints-check from filter-input/forward/output, nodeport-endpoints-check from filter-input) goto
//   reject-chain for a port with no endpoints, drop for Local policy without a local endpoint; cluster-ips-check
//   (filter-forward, filter-output-post-dnat) rejects a ClusterIP's other ports and drops unallocated service CIDR
//   addresses. Left out: the firewall's entries (loadBalancerSourceRanges) and session affinity, which no check here
//   uses; knftables' priority names are written as numbers (nft before 1.0.7 takes `dstnat` at some hooks only).
// Two things are added for the test and change no verdict: a counter in every endpoint chain and in the reject and
// drop rules of reject-chain and cluster-ips-check (which node translated, rejected or dropped the packet), and the endpoints a check pins (the engine's `endpoint=`)
// are the only ones a policy chain's numgen chooses among, so that the kernel is deterministic.
import type { ClusterDoc } from '../../src/topology/schema.js';

const MASQ_MARK = '0x00004000';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface Endpoint {
  ip: string;
  port: number;
  node: string | undefined;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** A Service port's endpoints, from every slice that names the Service, matched by port name and protocol. */
function endpointsOf(cluster: ClusterDoc, namespace: string, service: string, portName: string, protocol: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const slice of cluster.endpointSlices ?? []) {
    if ((slice.metadata.namespace ?? 'default') !== namespace || slice.metadata.labels?.[SERVICE_NAME_LABEL] !== service) continue;
    if (slice.addressType !== 'IPv4') continue;
    for (const p of slice.ports ?? []) {
      if ((p.name ?? '') !== portName || (p.protocol ?? 'TCP') !== protocol || typeof p.port !== 'number') continue;
      for (const ep of slice.endpoints ?? []) {
        const ready = ep.conditions?.ready ?? true;
        out.push({
          ip: ep.addresses[0]!,
          port: p.port,
          node: ep.nodeName ?? undefined,
          ready,
          serving: ep.conditions?.serving ?? ready,
          terminating: ep.conditions?.terminating ?? false,
        });
      }
    }
  }
  return out;
}

/** pkg/proxy/topology.go CategorizeEndpoints without topology hints: ready endpoints, else serving-and-terminating ones. */
function usable(eps: readonly Endpoint[]): Endpoint[] {
  const ready = eps.filter((e) => e.ready);
  return ready.length > 0 ? ready : eps.filter((e) => e.serving && e.terminating);
}

/**
 * What both proxiers' syncProxyRules work out for one IPv4 Service port on one node before writing a rule (the same
 * variables in pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go).
 */
export interface PortFacts {
  namespace: string;
  name: string;
  /** `namespace/name/protocol/port-name`: the nftables mode's chain suffix. */
  base: string;
  /** `namespace/name:port-name`: the iptables mode's svcPortNameString. */
  portName: string;
  /** Lower case, as both write it. */
  protocol: string;
  clusterIP: string;
  port: number;
  /** 0 when the port has none. */
  nodePort: number;
  externalIPs: string[];
  /** The usable endpoints (cluster policy) and those of them on this node (local policy). */
  all: Endpoint[];
  local: Endpoint[];
  hasEndpoints: boolean;
  hasInternal: boolean;
  hasExternal: boolean;
  internalLocal: boolean;
  externalLocal: boolean;
  externallyAccessible: boolean;
  usesCluster: boolean;
  usesLocal: boolean;
}

/** Every IPv4 Service port of the cluster, as `node`'s kube-proxy sees it. */
export function servicePorts(cluster: ClusterDoc, node: string): PortFacts[] {
  const out: PortFacts[] = [];
  for (const svc of cluster.services ?? []) {
    const spec = svc.spec;
    const type = spec.type ?? 'ClusterIP';
    const clusterIP = (spec.clusterIPs ?? [spec.clusterIP]).find((a) => a !== undefined && a !== 'None' && !a.includes(':'));
    if (type === 'ExternalName' || clusterIP === undefined) continue;
    const namespace = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name;
    for (const port of spec.ports ?? []) {
      const protocol = (port.protocol ?? 'TCP').toLowerCase();
      const all = usable(endpointsOf(cluster, namespace, name, port.name ?? '', port.protocol ?? 'TCP'));
      const local = all.filter((e) => e.node === node);
      const hasEndpoints = all.length > 0;
      const internalLocal = spec.internalTrafficPolicy === 'Local';
      const nodePort = type === 'NodePort' || type === 'LoadBalancer' ? (port.nodePort ?? 0) : 0;
      const externalIPs = (spec.externalIPs ?? []).filter((a) => !a.includes(':'));
      const externallyAccessible = nodePort > 0 || externalIPs.length > 0;
      const externalLocal = externallyAccessible && spec.externalTrafficPolicy === 'Local';
      out.push({
        namespace,
        name,
        base: `${namespace}/${name}/${protocol}/${port.name ?? ''}`,
        portName: `${namespace}/${name}${port.name ? `:${port.name}` : ''}`,
        protocol,
        clusterIP,
        port: port.port,
        nodePort,
        externalIPs,
        all,
        local,
        hasEndpoints,
        hasInternal: hasEndpoints && (!internalLocal || local.length > 0),
        hasExternal: hasEndpoints && (!externalLocal || local.length > 0),
        internalLocal,
        externalLocal,
        externallyAccessible,
        usesCluster: !internalLocal || externallyAccessible,
        usesLocal: internalLocal || externalLocal,
      });
    }
  }
  return out;
}

/**
 * `nft -f` input that (re)creates `table ip kube-proxy` on `node`, with the cluster's kubeProxy configuration (its
 * clusterCIDR as the local detector, nftables.masqueradeAll); `pins` names the endpoint (address) a check pins, per
 * Service (`namespace/name`).
 */
export function kubeProxyRules(cluster: ClusterDoc, node: string, pins: ReadonlyMap<string, string> = new Map()): string {
  const clusterCIDR = cluster.kubeProxy!.clusterCIDR!;
  const masqueradeAll = cluster.kubeProxy?.nftables?.masqueradeAll ?? false;
  const nodeDoc = cluster.nodes.find((n) => n.name === node)!;
  const nodeIP = nodeDoc.addresses!.find((a) => a.type === 'InternalIP' && !a.address.includes(':'))!.address;
  const serviceCIDRs = (cluster.serviceCIDRs ?? []).filter((c) => !c.includes(':'));
  const chains = new Map<string, string[]>();
  const chain = (name: string) => {
    let rules = chains.get(name);
    if (rules === undefined) chains.set(name, (rules = []));
    return rules;
  };
  const serviceIPs: string[] = [];
  const serviceNodePorts: string[] = [];
  const noEndpointServices: string[] = [];
  const noEndpointNodePorts: string[] = [];
  const clusterIPs = new Set<string>();

  for (const p of servicePorts(cluster, node)) {
    const { base, protocol, clusterIP, externalIPs, nodePort, all, local, hasEndpoints, hasInternal, hasExternal, externalLocal, externallyAccessible } = p;
    const pin = pins.get(`${p.namespace}/${p.name}`);
    const clusterChain = `service-${base}`;
    const localChain = `local-${base}`;
    const externalChain = `external-${base}`;
    const internalChain = p.internalLocal ? localChain : clusterChain;
    const externalPolicyChain = externalLocal ? localChain : clusterChain;
    // No endpoint anywhere: reject; endpoints, but none this policy may use here: drop.
    const filterVerdict = hasEndpoints ? 'drop' : 'goto reject-chain';
    const key = (ip: string) => `${ip} . ${protocol} . ${p.port}`;

    clusterIPs.add(clusterIP);
    if (hasInternal) serviceIPs.push(`${key(clusterIP)} : goto ${internalChain}`);
    else noEndpointServices.push(`${key(clusterIP)} : ${filterVerdict}`);
    for (const ip of externalIPs) {
      if (hasEndpoints) serviceIPs.push(`${key(ip)} : goto ${externalChain}`);
      if (!hasExternal) noEndpointServices.push(`${key(ip)} : ${filterVerdict}`);
    }
    if (nodePort > 0) {
      if (hasEndpoints) serviceNodePorts.push(`${protocol} . ${nodePort} : goto ${externalChain}`);
      if (!hasExternal) noEndpointNodePorts.push(`${protocol} . ${nodePort} : ${filterVerdict}`);
    }
    if (hasInternal) {
      if (masqueradeAll) chain(internalChain).push(`ip daddr ${clusterIP} ${protocol} dport ${p.port} jump mark-for-masquerade`);
      else chain(internalChain).push(`ip daddr ${clusterIP} ${protocol} dport ${p.port} ip saddr != ${clusterCIDR} jump mark-for-masquerade`);
    }
    if (hasEndpoints && externallyAccessible) {
      const ext = chain(externalChain);
      if (!externalLocal) ext.push('jump mark-for-masquerade');
      else {
        ext.push(`ip saddr ${clusterCIDR} goto ${clusterChain}`);
        ext.push('fib saddr type local jump mark-for-masquerade');
        ext.push(`fib saddr type local goto ${clusterChain}`);
      }
      if (hasExternal) ext.push(`goto ${externalPolicyChain}`);
    }
    const endpointChain = (e: Endpoint) => `endpoint-${base}__${e.ip}/${e.port}`;
    const dispatch = (chainName: string, eps: Endpoint[]) => {
      const pinned = pin === undefined ? [] : eps.filter((e) => e.ip === pin);
      const chosen = pinned.length > 0 ? pinned : eps;
      chain(chainName).push(`numgen random mod ${chosen.length} vmap { ${chosen.map((e, i) => `${i} : goto ${endpointChain(e)}`).join(', ')} }`);
    };
    if (p.usesCluster && all.length > 0) dispatch(clusterChain, all);
    if (p.usesLocal && local.length > 0) dispatch(localChain, local);
    const reachable = [...(p.usesCluster ? all : []), ...(p.usesLocal ? local : [])];
    for (const e of new Set(reachable)) {
      const rules = chain(endpointChain(e));
      if (rules.length > 0) continue;
      rules.push(`ip saddr ${e.ip} jump mark-for-masquerade`, `counter meta l4proto ${protocol} dnat to ${e.ip}:${e.port}`);
    }
  }

  const lines: string[] = [];
  // Recreated whole: add-then-delete clears a table from an earlier check without failing when there is none. Each
  // chain, map and set comes before what names it: nft resolves a name when it reads it.
  lines.push('add table ip kube-proxy', 'delete table ip kube-proxy', 'table ip kube-proxy {');
  const regular = (name: string, rules: string[]) => lines.push(`  chain ${name} {`, ...rules.map((r) => `    ${r}`), '  }');
  regular('mark-for-masquerade', [`mark set mark or ${MASQ_MARK}`]);
  regular('masquerading', [`mark and ${MASQ_MARK} == 0 return`, `mark set mark xor ${MASQ_MARK}`, 'masquerade fully-random']);
  regular('reject-chain', ['counter reject']);
  const names = [...chains.keys()];
  const order = [
    ...names.filter((n) => n.startsWith('endpoint-')),
    ...names.filter((n) => n.startsWith('service-') || n.startsWith('local-')),
    ...names.filter((n) => n.startsWith('external-')),
  ];
  for (const n of order) regular(n, chains.get(n)!);
  const map = (name: string, type: string, elements: string[]) =>
    lines.push(`  map ${name} {`, `    type ${type} : verdict;`, ...(elements.length > 0 ? [`    elements = { ${elements.join(', ')} }`] : []), '  }');
  map('service-ips', 'ipv4_addr . inet_proto . inet_service', serviceIPs);
  map('service-nodeports', 'inet_proto . inet_service', serviceNodePorts);
  map('no-endpoint-services', 'ipv4_addr . inet_proto . inet_service', noEndpointServices);
  map('no-endpoint-nodeports', 'inet_proto . inet_service', noEndpointNodePorts);
  map('firewall-ips', 'ipv4_addr . inet_proto . inet_service', []);
  lines.push('  set nodeport-ips {', '    type ipv4_addr;', `    elements = { ${nodeIP} }`, '  }');
  lines.push('  set cluster-ips {', '    type ipv4_addr;', ...(clusterIPs.size > 0 ? [`    elements = { ${[...clusterIPs].join(', ')} }`] : []), '  }');
  regular('firewall-check', ['ip daddr . meta l4proto . th dport vmap @firewall-ips']);
  regular('service-endpoints-check', ['ip daddr . meta l4proto . th dport vmap @no-endpoint-services']);
  regular('nodeport-endpoints-check', ['ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports']);
  regular('cluster-ips-check', [
    'ip daddr @cluster-ips counter reject',
    ...(serviceCIDRs.length > 0 ? [`ip daddr { ${serviceCIDRs.join(', ')} } counter drop`] : []),
  ]);
  regular('services', ['ip daddr . meta l4proto . th dport vmap @service-ips', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports']);
  // Priorities dstnat-10, dstnat+10, dstnat, srcnat.
  const base = (name: string, type: string, hook: string, priority: string, rules: string[]) =>
    lines.push(`  chain ${name} {`, `    type ${type} hook ${hook} priority ${priority}; policy accept;`, ...rules.map((r) => `    ${r}`), '  }');
  base('filter-prerouting', 'filter', 'prerouting', '-110', ['ct state new jump firewall-check']);
  base('filter-input', 'filter', 'input', '-110', ['ct state new jump nodeport-endpoints-check', 'ct state new jump service-endpoints-check']);
  base('filter-forward', 'filter', 'forward', '-110', ['ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check']);
  base('filter-output', 'filter', 'output', '-110', ['ct state new jump service-endpoints-check', 'ct state new jump firewall-check']);
  base('filter-output-post-dnat', 'filter', 'output', '-90', ['ct state new jump cluster-ips-check']);
  base('nat-prerouting', 'nat', 'prerouting', '-100', ['jump services']);
  base('nat-output', 'nat', 'output', '-100', ['jump services']);
  base('nat-postrouting', 'nat', 'postrouting', '100', ['jump masquerading']);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
