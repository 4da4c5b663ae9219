// Semantic validation: what a JSON Schema cannot say. Every problem is collected with its JSON pointer and reported at once,
// so a user fixes a document in one round trip instead of one error at a time.
import { podIpsFromNodeCidr } from './pod-ipam.js';
import { Addr, type Family } from '../engine/addr.js';
import { Prefix } from '../engine/prefix.js';
import { IfAddr } from '../engine/ifaddr.js';
import { DataError, pointerToken, type InvalidParam } from './data-error.js';
import { annotationProblem } from '../engine/compile/annotations.js';
import type { ClusterDoc, CniDoc, FabricDoc, LinkAddressDoc, LinkDoc, NetnsDoc, RouteDoc, TopologySpec } from './schema.js';
import { WEAVE_DEFAULT_SUBNET } from '../engine/compile/weave.js';
import { defaultFamily, dstFamily, linkAddress } from '../engine/compile/fabric.js';
import { checkPolicies } from './policies.js';
import { checkServices } from './validate-services.js';

class Findings {
  readonly errors: InvalidParam[] = [];
  add(pointer: string, detail: string) {
    this.errors.push({ pointer, detail });
  }
  addr(pointer: string, text: string): Addr | undefined {
    const a = Addr.tryParse(text);
    if (a === undefined) this.add(pointer, `${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
    return a;
  }
  prefix(pointer: string, text: string, parse: (s: string) => Prefix = Prefix.parse): Prefix | undefined {
    try {
      return parse(text);
    } catch (err) {
      this.add(pointer, (err as Error).message);
      return undefined;
    }
  }
  ifAddr(pointer: string, doc: LinkAddressDoc): IfAddr | undefined {
    try {
      return linkAddress(doc);
    } catch (err) {
      this.add(pointer, (err as Error).message);
      return undefined;
    }
  }
}

const familyName = (f: Family) => (f === 4 ? 'IPv4' : 'IPv6');

const FORMS = ['cluster', 'fabric', 'dumps'] as const;
export type TopologyForm = (typeof FORMS)[number];

/** The form a topology body is given in; throws DataError (400) unless it gives exactly one. */
export function topologyForm(body: { cluster?: unknown; fabric?: unknown; dumps?: unknown }): TopologyForm {
  const given = FORMS.filter((form) => body[form] !== undefined);
  if (given.length > 1) {
    const onlyTwo = body.dumps === undefined;
    throw new DataError(
      onlyTwo ? 'a topology is either a cluster or a fabric, not both' : `a topology is one of cluster, fabric or dumps, not ${given.join(' and ')}`,
      [{ pointer: `/${given[1]}`, detail: onlyTwo ? 'give exactly one of cluster or fabric' : 'give exactly one of cluster, fabric or dumps' }],
      400,
      'invalid-request',
    );
  }
  if (given.length === 0) {
    throw new DataError('a topology needs a cluster, a fabric or dumps', [
      {
        pointer: '',
        detail:
          'give exactly one of cluster (nodes and pods), fabric (namespaces, links and routes) or dumps (the ip -j outputs of namespaces)',
      },
    ], 400, 'invalid-request');
  }
  return given[0]!;
}

/**
 * Checks a cluster or a fabric and returns its spec; throws DataError (400 for the shape, 422 for consistency). Dumps are
 * converted to the fabric they describe first (checkDumps of src/import/iproute.ts), and that fabric is checked here.
 */
export function checkTopology(body: { cluster?: ClusterDoc; fabric?: FabricDoc }): TopologySpec {
  const form = topologyForm(body);
  if (form === 'dumps') throw new Error('dumps become a fabric before they are checked: see checkDumps');
  const f = new Findings();
  let spec: TopologySpec;
  if (form === 'cluster') {
    checkCluster(body.cluster!, f);
    spec = { form, cluster: body.cluster! };
  } else {
    checkFabric(body.fabric!, f);
    spec = { form, fabric: body.fabric! };
  }
  assertConsistent(f.errors);
  return spec;
}

/** The consistency problems of a fabric, at JSON pointers under base. */
export function fabricProblems(fabric: FabricDoc, base = '/fabric'): InvalidParam[] {
  const f = new Findings();
  checkFabric(fabric, f, base);
  return f.errors;
}

/** Throws the 422 of a topology's consistency problems (the first 100 of them), if it has any. */
export function assertConsistent(problems: InvalidParam[]) {
  if (problems.length === 0) return;
  const n = problems.length;
  const first = problems[0]!;
  throw new DataError(
    n === 1 ? `the topology is not consistent: ${first.pointer}: ${first.detail}` : `the topology has ${n} consistency problems`,
    problems.slice(0, 100),
  );
}

function checkCluster(c: ClusterDoc, f: Findings) {
  const base = '/cluster';
  interface NodeFacts {
    cidrs: Prefix[];
    ips: Addr[];
  }
  const nodes = new Map<string, NodeFacts>();
  const nodeIps = new Map<string, string>();
  const allCidrs: { prefix: Prefix; node: string; pointer: string }[] = [];

  const weave = c.cni?.plugin === 'weave' ? c.cni : undefined;
  const weaveRange = weave && weaveSubnet(weave, f);
  let weavePods = 0;

  let underlay: Prefix | undefined;
  if (c.network?.cidr !== undefined) underlay = f.prefix(`${base}/network/cidr`, c.network.cidr);
  const subnets: Prefix[] = [];
  c.network?.subnets?.forEach((text, i) => {
    const sp = `${base}/network/subnets/${i}`;
    const prefix = f.prefix(sp, text);
    if (!prefix) return;
    const other = subnets.find((x) => x.overlaps(prefix));
    if (other) f.add(sp, `${prefix} overlaps the subnet ${other}: each subnet is its own L2 segment`);
    subnets.push(prefix);
  });
  if (c.network?.subnets !== undefined) {
    for (const key of ['cidr', 'gateway'] as const) {
      if (c.network[key] !== undefined) {
        f.add(`${base}/network/${key}`, `give either subnets or ${key}: with several subnets the router between them is the nodes' gateway`);
      }
    }
  }
  if (c.network?.gateway !== undefined) {
    const gw = f.addr(`${base}/network/gateway`, c.network.gateway);
    if (gw && underlay && !underlay.contains(gw)) {
      f.add(`${base}/network/gateway`, `${gw} is not in the node network ${underlay}: the nodes could not reach it`);
    }
  }

  c.nodes.forEach((node, i) => {
    const p = `${base}/nodes/${i}`;
    const facts: NodeFacts = { cidrs: [], ips: [] };
    // The first node of a name is the one pods refer to; the later one is the mistake.
    if (nodes.has(node.name)) f.add(`${p}/name`, `another node is also named ${node.name}`);
    else nodes.set(node.name, facts);

    node.addresses.forEach((a, j) => {
      if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') return;
      const ap = `${p}/addresses/${j}/address`;
      const ip = f.addr(ap, a.address);
      if (!ip) return;
      const key = ip.toString();
      const other = nodeIps.get(key);
      if (other !== undefined && other !== node.name) f.add(ap, `${key} is also an address of node ${other}`);
      nodeIps.set(key, node.name);
      facts.ips.push(ip);
      if (a.type === 'InternalIP' && underlay && ip.family === underlay.family && !underlay.contains(ip)) {
        f.add(ap, `${key} is outside the node network ${underlay}`);
      }
      if (a.type === 'InternalIP' && subnets.length > 0 && !subnets.some((x) => x.contains(ip))) {
        f.add(ap, `${key} is in none of the network's subnets (${subnets.join(', ')})`);
      }
      if (weaveRange?.contains(ip)) {
        f.add(ap, `${key} is inside the weave subnet ${weaveRange}: weave refuses to start on a host whose network overlaps it`);
      }
    });
    if (!node.addresses.some((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')) {
      f.add(`${p}/addresses`, 'a node needs an InternalIP (or ExternalIP) address: the other nodes route to it');
    }

    for (const [key, text] of Object.entries(node.annotations ?? {})) {
      const problem = annotationProblem(key, text);
      if (problem !== undefined) f.add(`${p}/annotations/${pointerToken(key)}`, problem);
    }

    node.podCIDRs.forEach((text, j) => {
      const cp = `${p}/podCIDRs/${j}`;
      const prefix = f.prefix(cp, text);
      if (!prefix) return;
      if (facts.cidrs.some((x) => x.family === prefix.family)) {
        f.add(cp, `a node has at most one ${familyName(prefix.family)} pod CIDR`);
      }
      for (const other of allCidrs) {
        if (other.prefix.overlaps(prefix)) {
          f.add(cp, `${prefix} overlaps ${other.prefix}, the pod CIDR of node ${other.node} (${other.pointer})`);
        }
      }
      facts.cidrs.push(prefix);
      allCidrs.push({ prefix, node: node.name, pointer: cp });
    });
  });

  const ipsInNodeCidr = podIpsFromNodeCidr(c.cni?.plugin ?? 'bridge');
  const podKeys = new Set<string>();
  const podIps = new Map<string, string>();
  (c.pods ?? []).forEach((pod, i) => {
    const p = `${base}/pods/${i}`;
    const id = `${pod.namespace ?? 'default'}/${pod.name}`;
    if (podKeys.has(id)) f.add(`${p}/name`, `another pod is also named ${id}`);
    podKeys.add(id);
    const node = nodes.get(pod.nodeName);
    if (!node) f.add(`${p}/nodeName`, `there is no node named ${pod.nodeName}`);
    const families = new Set<Family>();
    (pod.podIPs ?? []).forEach((entry, j) => {
      const ip = typeof entry === 'string' ? entry : entry.ip;
      const ipp = `${p}/podIPs/${j}${typeof entry === 'string' ? '' : '/ip'}`;
      const a = f.addr(ipp, ip);
      if (!a) return;
      if (families.has(a.family)) f.add(ipp, `a pod has at most one ${familyName(a.family)} address`);
      families.add(a.family);
      if (!node) return;
      if (pod.hostNetwork) {
        if (!node.ips.some((n) => n.equals(a))) {
          f.add(ipp, `a hostNetwork pod has its node's address, and ${a} is not an address of node ${pod.nodeName}`);
        }
        return;
      }
      const key = a.toString();
      const owner = podIps.get(key) ?? (nodeIps.has(key) ? `node ${nodeIps.get(key)}` : undefined);
      if (owner !== undefined) f.add(ipp, `${key} is also the address of ${owner}`);
      podIps.set(key, `pod ${id}`);
      if (weave !== undefined) {
        if (a.family === 6) f.add(ipp, `Weave Net allocates IPv4 addresses only, and ${a} is IPv6`);
        else if (weaveRange && !weaveRange.contains(a)) {
          f.add(ipp, `${a} is outside ${weaveRange}, the weave subnet every pod address comes from`);
        } else if (weaveRange && (a.equals(weaveRange.first()) || a.equals(weaveRange.last()))) {
          f.add(ipp, `${a} is the first or last address of the weave subnet ${weaveRange}, which weave never gives out`);
        } else weavePods++;
      }
      if (!ipsInNodeCidr) return;
      const cidr = node.cidrs.find((x) => x.family === a.family);
      if (!cidr) {
        f.add(ipp, `node ${pod.nodeName} has no ${familyName(a.family)} pod CIDR for ${a}`);
      } else if (!cidr.contains(a)) {
        f.add(ipp, `${a} is outside ${cidr}, the pod CIDR of node ${pod.nodeName}`);
      }
    });
  });

  checkPolicies(c, base, (pointer, detail) => f.add(pointer, detail));

  const cni = c.cni;
  if (cni?.plugin === 'calico') {
    cni.ipamBlocks?.forEach((b, i) => {
      const bp = `${base}/cni/ipamBlocks/${i}`;
      f.prefix(`${bp}/cidr`, b.cidr);
      if (!nodes.has(b.nodeName)) f.add(`${bp}/nodeName`, `there is no node named ${b.nodeName}`);
    });
  }
  checkMasquerade(c, f, base);
  // Every node's weave bridge takes an address of the subnet too (`weave expose`).
  const need = weavePods + c.nodes.length;
  if (weaveRange !== undefined && need > weaveRange.size - 2) {
    f.add(
      `${base}/cni${weave?.subnet === undefined ? '' : '/subnet'}`,
      `the weave subnet ${weaveRange} has ${weaveRange.size - 2} addresses to give out, and its ${weavePods} pods and ` +
        `${c.nodes.length} nodes need ${need} (each node's weave bridge takes one)`,
    );
  }
  checkServices(c, f, base);
}

/** The prefixes of the egress masquerade's settings (compile/masquerade.ts), each of the family its field names. */
function checkMasquerade(c: ClusterDoc, f: Findings, base: string): void {
  const one = (pointer: string, text: string | undefined, family?: Family) => {
    const p = text === undefined ? undefined : f.prefix(pointer, text);
    if (p !== undefined && family !== undefined && p.family !== family) f.add(pointer, `${p} is not an ${familyName(family)} prefix`);
  };
  const list = (pointer: string, texts: readonly string[] | undefined) => texts?.forEach((t, i) => one(`${pointer}/${i}`, t));
  const cni = c.cni;
  const at = `${base}/cni`;
  if (cni?.plugin === 'flannel') {
    one(`${at}/network`, cni.network, 4);
    one(`${at}/ipv6Network`, cni.ipv6Network, 6);
  } else if (cni?.plugin === 'calico') {
    cni.ipPools?.forEach((p, i) => one(`${at}/ipPools/${i}/cidr`, p.cidr));
  } else if (cni?.plugin === 'cilium') {
    one(`${at}/ipv4NativeRoutingCIDR`, cni.ipv4NativeRoutingCIDR, 4);
    one(`${at}/ipv6NativeRoutingCIDR`, cni.ipv6NativeRoutingCIDR, 6);
  } else if (cni?.plugin === 'kindnet') {
    list(`${at}/podSubnet`, cni.podSubnet);
  } else if (cni?.plugin === 'aws-vpc-cni') {
    list(`${at}/excludeSNATCIDRs`, cni.excludeSNATCIDRs);
    list(`${at}/vpcCIDRs`, cni.vpcCIDRs);
  }
  list(`${base}/ipMasqAgent/nonMasqueradeCIDRs`, c.ipMasqAgent?.nonMasqueradeCIDRs);
}

/** The weave subnet (IPALLOC_RANGE), or undefined when the given one is not an IPv4 prefix. */
function weaveSubnet(cni: Extract<CniDoc, { plugin: 'weave' }>, f: Findings): Prefix | undefined {
  if (cni.subnet === undefined) return WEAVE_DEFAULT_SUBNET;
  const pointer = '/cluster/cni/subnet';
  const subnet = f.prefix(pointer, cni.subnet);
  if (subnet?.family !== 6) return subnet;
  f.add(pointer, `Weave Net allocates IPv4 addresses only, and ${subnet} is IPv6`);
  return undefined;
}

function checkFabric(fabric: FabricDoc, f: Findings, base = '/fabric') {
  const byName = new Map<string, { ns: NetnsDoc; index: number; links: Map<string, LinkDoc> }>();
  fabric.netns.forEach((ns, i) => {
    if (byName.has(ns.name)) f.add(`${base}/netns/${i}/name`, `another netns is also named ${ns.name}`);
    const links = new Map<string, LinkDoc>();
    ns.links.forEach((l, j) => {
      if (links.has(l.name)) f.add(`${base}/netns/${i}/links/${j}/name`, `netns ${ns.name} has another link named ${l.name}`);
      links.set(l.name, l);
    });
    byName.set(ns.name, { ns, index: i, links });
  });

  const segmentNames = new Set<string>();
  fabric.segments?.forEach((s, i) => {
    const sp = `${base}/segments/${i}`;
    if (segmentNames.has(s.name)) f.add(`${sp}/name`, `another segment is also named ${s.name}`);
    segmentNames.add(s.name);
    const cidr = s.cidr === undefined ? undefined : f.prefix(`${sp}/cidr`, s.cidr);
    s.external?.forEach((e, j) => {
      const a = f.addr(`${sp}/external/${j}`, e);
      if (a && cidr && !cidr.contains(a)) f.add(`${sp}/external/${j}`, `${a} is outside the segment's ${cidr}`);
    });
  });

  fabric.netns.forEach((ns, i) => {
    const np = `${base}/netns/${i}`;
    const links = byName.get(ns.name)!.links;
    const hasLink = (pointer: string, dev: string) => {
      if (!links.has(dev)) f.add(pointer, `netns ${ns.name} has no link named ${dev}`);
    };

    // The families of the netns's addresses: what places a "default" route that no gateway does.
    const families = new Set<Family>();
    ns.links.forEach((l, j) => {
      const lp = `${np}/links/${j}`;
      l.addresses?.forEach((a, k) => {
        const ifAddr = f.ifAddr(`${lp}/addresses/${k}${typeof a === 'string' ? '' : '/address'}`, a);
        if (ifAddr !== undefined) families.add(ifAddr.addr.family);
      });
      if (l.kind === 'veth') {
        if (!l.peer) {
          f.add(`${lp}/peer`, 'a veth has a peer: {netns, link} of its other end');
        } else {
          const peerNs = byName.get(l.peer.netns);
          const peer = peerNs?.links.get(l.peer.link);
          if (!peerNs) f.add(`${lp}/peer/netns`, `there is no netns named ${l.peer.netns}`);
          else if (!peer) f.add(`${lp}/peer/link`, `netns ${l.peer.netns} has no link named ${l.peer.link}`);
          else if (peer.kind !== 'veth') f.add(`${lp}/peer/link`, `${l.peer.netns} ${l.peer.link} is a ${peer.kind}, not a veth`);
          else if (peer.peer?.netns !== ns.name || peer.peer.link !== l.name) {
            f.add(`${lp}/peer`, `its peer ${l.peer.netns} ${l.peer.link} does not point back at ${ns.name} ${l.name}`);
          }
        }
      } else if (l.peer) {
        f.add(`${lp}/peer`, `only a veth has a peer; ${l.name} is a ${l.kind}`);
      }
      if (l.master !== undefined) {
        const master = links.get(l.master);
        if (!master) f.add(`${lp}/master`, `netns ${ns.name} has no link named ${l.master}`);
        else if (master.kind !== 'bridge') f.add(`${lp}/master`, `${l.master} is a ${master.kind}; a master is a bridge`);
        else if (l.kind === 'bridge') f.add(`${lp}/master`, 'a bridge cannot be a port of another bridge here');
      }
      if (l.segment !== undefined && l.kind !== 'physical') {
        f.add(`${lp}/segment`, `only a physical link is plugged into a segment; ${l.name} is a ${l.kind}`);
      }
      if (l.local !== undefined) f.addr(`${lp}/local`, l.local);
      if (l.underlay !== undefined) hasLink(`${lp}/underlay`, l.underlay);
      if (l.ipcache !== undefined && l.kind !== 'vxlan' && l.kind !== 'geneve') {
        f.add(`${lp}/ipcache`, `only a vxlan or geneve link has an ipcache; ${l.name} is a ${l.kind}`);
      }
      l.proxyNdp?.forEach((text, k) => {
        const a = f.addr(`${lp}/proxyNdp/${k}`, text);
        if (a && a.family !== 6) f.add(`${lp}/proxyNdp/${k}`, `${a} is IPv4: proxy NDP answers for IPv6 addresses (proxyArp is IPv4's)`);
      });
      l.ipcache?.forEach((e, k) => {
        f.prefix(`${lp}/ipcache/${k}/prefix`, e.prefix);
        f.addr(`${lp}/ipcache/${k}/tunnelEndpoint`, e.tunnelEndpoint);
      });
    });

    ns.routes?.forEach((r, j) => checkRoute(r, `${np}/routes/${j}`, hasLink, f, ns.name, families));
    ns.neigh?.forEach((n, j) => {
      f.addr(`${np}/neigh/${j}/dst`, n.dst);
      hasLink(`${np}/neigh/${j}/dev`, n.dev);
    });
    ns.fdb?.forEach((e, j) => {
      f.addr(`${np}/fdb/${j}/dst`, e.dst);
      hasLink(`${np}/fdb/${j}/dev`, e.dev);
    });
  });
}

function checkRoute(
  r: RouteDoc,
  rp: string,
  hasLink: (pointer: string, dev: string) => void,
  f: Findings,
  netns: string,
  families: ReadonlySet<Family>,
) {
  const gateway = r.gateway === undefined ? undefined : f.addr(`${rp}/gateway`, r.gateway);
  let dst: Prefix | undefined;
  if (r.dst === 'default' && defaultFamily(r, families) === undefined) {
    const has = families.size === 0 ? 'no addresses' : 'addresses of both families';
    f.add(`${rp}/family`, `"default" does not say its family, no gateway tells it, and netns ${netns} has ${has}: give family 4 or 6`);
  } else {
    dst = f.prefix(`${rp}/dst`, r.dst, (s) => Prefix.parseRouteDst(s, dstFamily(r, families)));
  }
  const type = r.type ?? 'unicast';
  if (type !== 'unicast') {
    if (r.gateway !== undefined || r.nexthops !== undefined) f.add(`${rp}/type`, `a ${type} route has no gateway or next hops`);
  } else if (r.dev === undefined && r.gateway === undefined && r.nexthops === undefined) {
    f.add(rp, 'a unicast route needs a dev, a gateway or nexthops');
  }
  if (r.nexthops !== undefined && (r.gateway !== undefined || r.dev !== undefined)) {
    f.add(`${rp}/nexthops`, 'a route has either gateway/dev or nexthops, not both');
  }
  if (r.dev !== undefined) hasLink(`${rp}/dev`, r.dev);
  if (dst && gateway && gateway.family !== dst.family) {
    f.add(`${rp}/gateway`, `${gateway} is ${familyName(gateway.family)} but the route is for ${familyName(dst.family)} ${r.dst}`);
  }
  if (r.prefsrc !== undefined) f.addr(`${rp}/prefsrc`, r.prefsrc);
  r.nexthops?.forEach((n, k) => {
    const hp = `${rp}/nexthops/${k}`;
    hasLink(`${hp}/dev`, n.dev);
    if (n.gateway === undefined) return;
    const gw = f.addr(`${hp}/gateway`, n.gateway);
    if (gw && dst && gw.family !== dst.family) {
      f.add(`${hp}/gateway`, `${gw} is ${familyName(gw.family)} but the route is for ${familyName(dst.family)} ${r.dst}`);
    }
  });
}
