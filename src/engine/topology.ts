// A compiled topology: the fabric the tracer walks, and the names people use for its endpoints (pods as namespace/name or
// a bare name when unique, nodes, fabric netns names, or any address).
import { Addr, type Family } from './addr.js';
import type { Fabric, Netns } from './fabric.js';
import type { Owners } from './owners.js';
import { compileFabric } from './compile/fabric.js';
import { compileBridge, podAddrs, podKey, type ClusterFabric } from './compile/bridge.js';
import { nodeAddr } from './compile/underlay.js';
import { compileCalico } from './compile/calico.js';
import { compileRouted } from './compile/routed.js';
import { compileFlannel } from './compile/flannel.js';
import { compileCilium } from './compile/cilium.js';
import { compileWeave } from './compile/weave.js';
import { sourceAddress } from './source.js';
import { compileServices, type ServiceTable } from './service/table.js';
import { compileMasquerade } from './compile/masquerade.js';
import { suggestNames } from './suggest.js';
import { trace, type Flow, type Trace } from './trace.js';
import { PolicySet } from './policy/policies.js';
import { AdminPolicies, nodeAddresses } from './policy/admin.js';
import type { ClusterDoc, ContainerPortDoc, TopologySpec } from '../topology/schema.js';

export interface Endpoint {
  /** How it was named: "default/pod-a1", "node-a", a netns name, or an address. */
  readonly name: string;
  readonly kind: 'pod' | 'node' | 'netns' | 'address' | 'service';
  /** Where the endpoint lives; undefined for an address that nobody in the topology owns. */
  readonly netns: Netns | undefined;
  readonly addrs: readonly Addr[];
  /**
   * The first address of each family: what a trace to the endpoint is sent to, and from a pod sent from (a node or netns
   * sends from the address the kernel picks for the route, see source.ts).
   */
  readonly v4: Addr | undefined;
  readonly v6: Addr | undefined;
  /**
   * What a trace from or to the endpoint needs besides its addresses, worked out when the endpoint is made, so that a
   * trace reads the endpoint alone (at 150,000 pods a pod's Netns object, and the node of the address trie that holds
   * its address, are a cache miss each): its netns's id; whether it sends from the address the kernel picks for the
   * route (a node, a netns, a hostNetwork pod) rather than its own; and the first owner entry (Owners.first) of v4 and
   * v6. Absent on an endpoint made elsewhere, which a trace then looks up.
   */
  readonly netnsId?: number;
  readonly picksSource?: boolean;
  readonly owner4?: number;
  readonly owner6?: number;
}

function endpoint(name: string, kind: Endpoint['kind'], netns: Netns | undefined, addrs: readonly Addr[], owners: Owners): Endpoint {
  const v4 = addrs.find((a) => a.family === 4);
  const v6 = addrs.find((a) => a.family === 6);
  return {
    name,
    kind,
    netns,
    addrs,
    v4,
    v6,
    netnsId: netns?.id ?? -1,
    picksSource: kind === 'node' || kind === 'netns' || netns?.kind === 'node',
    owner4: v4 === undefined ? -1 : owners.first(v4),
    owner6: v6 === undefined ? -1 : owners.first(v6),
  };
}

/** A name that is not in the topology, or names several things; `candidates` helps the user pick. */
export class EndpointError extends Error {
  constructor(
    message: string,
    readonly reason: 'unknown' | 'ambiguous' | 'family' | 'outside',
    readonly candidates: readonly string[] = [],
  ) {
    super(message);
  }
}


/** The transport header of a traced flow, and the Service endpoint to trace when not every one. */
export interface Transport {
  readonly protocol?: 'icmp' | 'tcp' | 'udp' | 'sctp';
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly endpoint?: Addr;
  /** A reply within a connection that was allowed: no policy is evaluated (Flow.established). */
  readonly established?: boolean;
}

/**
 * The flow of a trace, every field named and absent ones undefined: one shape of flow for every trace, which the walk's
 * reads of it stay specialised to, and no rest pattern or spread (a runtime call and a copy each) per trace.
 */
export const flowOf = (src: Addr, dst: Addr, ttl: number, transport: Transport): Flow => ({
  src,
  dst,
  ttl,
  protocol: transport.protocol,
  srcPort: transport.srcPort,
  dstPort: transport.dstPort,
  established: transport.established,
});

export class CompiledTopology {
  /** Pod names without their namespace: the one pod of that name, or the several (an array only then, to save 150,000). */
  private readonly bareNames = new Map<string, string | string[]>();
  /** The container ports of the cluster's pods, by namespace/name: what a port name given to a trace means. */
  podPorts: ReadonlyMap<string, readonly ContainerPortDoc[]> = new Map();

  constructor(
    readonly fabric: Fabric,
    private readonly endpoints: ReadonlyMap<string, Endpoint>,
    /** kube-proxy's rules in the nodes of a cluster with Services. */
    readonly services?: ServiceTable,
  ) {
    for (const e of endpoints.values()) {
      if (e.kind !== 'pod') continue;
      const bare = e.name.slice(e.name.indexOf('/') + 1);
      const named = this.bareNames.get(bare);
      if (named === undefined) this.bareNames.set(bare, e.name);
      else if (typeof named === 'string') this.bareNames.set(bare, [named, e.name]);
      else named.push(e.name);
    }
  }

  /** The pods, in the order the document lists them (pod netns for a fabric document). */
  pods(): Endpoint[] {
    return [...this.endpoints.values()].filter((e) => e.kind === 'pod');
  }

  /** The number the destination pod gives a port name for a protocol (TCP, UDP, SCTP), or undefined. */
  namedPort(to: Endpoint, name: string, protocol: string): number | undefined {
    const ports = to.kind === 'pod' ? this.podPorts.get(to.name) : undefined;
    return ports?.find((p) => p.name === name && (p.protocol ?? 'TCP') === protocol)?.containerPort;
  }

  /** Resolves a `from` or `to`: an address, a pod, a node or a netns. Throws EndpointError. */
  resolve(text: string, role: 'source' | 'destination'): Endpoint {
    const addr = Addr.tryParse(text);
    if (addr !== undefined) {
      const { owners } = this.fabric;
      for (let o = owners.first(addr); o >= 0; o = owners.next(o)) {
        const ns = owners.netns(o);
        if (ns >= 0) return endpoint(text, 'address', this.fabric.netns[ns]!, [addr], owners);
      }
      if (role === 'source') {
        throw new EndpointError(`${text} is not an address of any pod, node or netns in this topology`, 'outside');
      }
      // A destination nobody owns (an unassigned pod IP, an outside address) is a fair question.
      return endpoint(text, 'address', undefined, [addr], this.fabric.owners);
    }
    const exact = this.endpoints.get(text);
    if (exact !== undefined) return exact;
    const named = this.bareNames.get(text);
    if (typeof named === 'string') return this.endpoints.get(named)!;
    if (named !== undefined) {
      throw new EndpointError(`${text} names ${named.length} pods; say which with namespace/name`, 'ambiguous', [...named].sort());
    }
    throw new EndpointError(`there is no pod, node or netns named ${text} in this topology`, 'unknown', suggestNames(text, this.endpoints.keys()));
  }

  /**
   * Traces from one endpoint to another, in `family` when given (each family is routed in its own tables), else in the
   * first family both have, IPv4 first.
   */
  trace(from: Endpoint, to: Endpoint, ttl = 64, family?: Family, transport: Transport = {}): Trace {
    if (from.netns === undefined) throw new EndpointError(`${from.name} is not in this topology`, 'outside');
    // Only the endpoints' own fields are read: with 150,000 pods every object a trace touches is likely a cache miss.
    const v4 = family === undefined ? from.v4 !== undefined && to.v4 !== undefined : family === 4;
    const src = v4 ? from.v4 : from.v6;
    const dst = v4 ? to.v4 : to.v6;
    if (src === undefined || dst === undefined) {
      const fams = (e: Endpoint) => [...new Set(e.addrs.map((a) => `IPv${a.family}`))].join(' and ') || 'no address';
      if (family === undefined) {
        throw new EndpointError(
          `${from.name} has ${fams(from)} and ${to.name} has ${fams(to)}: there is no address family to trace in`,
          'family',
        );
      }
      const lacks = (e: Endpoint) =>
        e.kind === 'address' ? `${e.name} is an IPv${e.addrs[0]!.family} address` : `${e.name} has no IPv${family} address (it has ${fams(e)})`;
      const missing = [src === undefined ? from : undefined, dst === undefined ? to : undefined].filter((e) => e !== undefined);
      throw new EndpointError(`cannot trace in IPv${family}: ${missing.map(lacks).join('; ')}`, 'family');
    }
    // A pod speaks from its address; a node or a netns of several addresses from the one the kernel picks for the route,
    // and so does a hostNetwork pod, which is its node's netns: one netns, one choice (through a tunnel, the tunnel's).
    const shared = from.picksSource ?? (from.kind === 'node' || from.kind === 'netns' || from.netns.kind === 'node');
    const picked = shared ? sourceAddress(this.fabric, from.netns, dst) : undefined;
    const dstOwner = v4 ? to.owner4 : to.owner6;
    const srcOwner = picked === undefined ? (v4 ? from.owner4 : from.owner6) : undefined;
    return trace(this.fabric, from.netns, flowOf(picked ?? src, dst, ttl, transport), this.services, transport.endpoint, -1, from.netnsId, dstOwner, srcOwner);
  }
}

export function compileTopology(spec: TopologySpec): CompiledTopology {
  const endpoints = new Map<string, Endpoint>();
  if (spec.form === 'fabric') {
    const fabric = compileFabric(spec.fabric);
    // A pod netns keeps its pod name (namespace/name), so that a bare pod name finds it as in the cluster form.
    for (const ns of fabric.netns) {
      const kind = ns.kind === 'pod' ? 'pod' : ns.kind === 'node' ? 'node' : 'netns';
      endpoints.set(ns.name, endpoint(ns.name, kind, ns, addressesOf(ns), fabric.owners));
    }
    return new CompiledTopology(fabric, endpoints);
  }
  const { fabric, hostNetworkPods } = compileCluster(spec.cluster);
  for (const node of spec.cluster.nodes) {
    const ns = fabric.byName.get(node.name)!;
    const addrs = [nodeAddr(node, 4), nodeAddr(node, 6)].filter((a) => a !== undefined);
    endpoints.set(node.name, endpoint(node.name, 'node', ns, addrs, fabric.owners));
  }
  for (const pod of spec.cluster.pods ?? []) {
    const key = podKey(pod);
    const ns = hostNetworkPods.get(key) ?? fabric.byName.get(key)!;
    endpoints.set(key, endpoint(key, 'pod', ns, podAddrs(pod), fabric.owners));
  }
  const { networkPolicies = [], adminNetworkPolicies = [], baselineAdminNetworkPolicies = [] } = spec.cluster;
  if (networkPolicies.length + adminNetworkPolicies.length + baselineAdminNetworkPolicies.length > 0) {
    fabric.policies = new PolicySet(spec.cluster, {
      netnsCount: fabric.netns.length,
      podNetns: (key) => (hostNetworkPods.has(key) ? undefined : fabric.byName.get(key)?.id),
      nodeNetns: (name) => fabric.byName.get(name)?.id ?? -1,
    });
    if (adminNetworkPolicies.length + baselineAdminNetworkPolicies.length > 0) {
      fabric.policies.admin = new AdminPolicies(fabric.policies, spec.cluster, nodeAddresses(spec.cluster));
    }
  }
  // What the data path adds besides nodes and pods (the VPC router of cloud routes).
  for (const ns of fabric.netns) {
    if (ns.kind === 'router' && !endpoints.has(ns.name)) endpoints.set(ns.name, endpoint(ns.name, 'netns', ns, addressesOf(ns), fabric.owners));
  }
  fabric.masquerade = compileMasquerade(spec.cluster, fabric);
  const compiled = new CompiledTopology(fabric, endpoints, compileServices(spec.cluster, fabric));
  compiled.podPorts = new Map((spec.cluster.pods ?? []).filter((p) => p.ports !== undefined).map((p) => [podKey(p), p.ports!]));
  return compiled;
}

/** Dispatches a cluster to the compiler of its data path. */
function compileCluster(cluster: ClusterDoc): ClusterFabric {
  const cni = cluster.cni ?? { plugin: 'bridge' as const };
  switch (cni.plugin) {
    case 'bridge':
      return compileBridge(cluster, { bridgeName: 'cbr0', routes: cni.routes ?? 'host-gw' });
    case 'flannel':
      return compileFlannel(cluster, cni);
    case 'calico':
      return compileCalico(cluster, cni);
    case 'cilium':
      return compileCilium(cluster, { ...cni, routing: cni.routing ?? 'tunnel' });
    case 'weave':
      return compileWeave(cluster, cni);
    case 'kindnet':
      return compileRouted(cluster, { gateway: 'ptp', routes: 'host-gw', vethPrefix: 'veth', vethDigits: 8 });
    case 'gke':
      return compileRouted(cluster, { gateway: 'ptp', routes: 'cloud', vethPrefix: 'gke', vethDigits: 12 });
    case 'aws-vpc-cni':
      return compileRouted(cluster, { gateway: 'link-local', routes: 'cloud', vethPrefix: 'eni', vethDigits: 11 });
    case 'azure-cni':
      return compileRouted(cluster, { gateway: 'link-local', routes: 'cloud', vethPrefix: 'azv', vethDigits: 11 });
  }
}

/** Every address of the netns, those of links that are up first: an address on a link that is down is still local. */
function addressesOf(ns: Netns): Addr[] {
  const ordered = [...ns.links.filter((l) => l.up), ...ns.links.filter((l) => !l.up)];
  return ordered.flatMap((l) => l.addrs.map((a) => a.addr));
}
