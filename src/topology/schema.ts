// The two topology forms as JSON Schema (TypeBox). These are data only: the HTTP layer validates with them and the engine
// imports their static types, so the documents users send and the values the engine reads can never drift apart.
// Every object is closed (additionalProperties: false): a misspelt field is an error, not a silently ignored option.
import { Type, type Static, type TProperties, type ObjectOptions } from '@sinclair/typebox';

const Closed = <T extends TProperties>(properties: T, options: ObjectOptions = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options });

export const NamePattern = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$';
export const TopologyName = Type.String({
  pattern: NamePattern,
  description: 'A Kubernetes-style name: lowercase letters, digits and "-", 1 to 63 characters.',
});

// Kept as strings here; their syntax (strict IPv4/IPv6, host bits in prefixes) is checked by the semantic validator, which
// reports every offending JSON pointer at once with a message a person can act on.
const IpAddress = Type.String({ minLength: 2, maxLength: 64, description: 'An IPv4 or IPv6 address.' });
const Cidr = Type.String({ minLength: 4, maxLength: 64, description: 'A prefix such as 10.1.1.0/24 (no host bits).' });
const InterfaceCidr = Type.String({
  minLength: 2,
  maxLength: 64,
  description: 'An interface address such as 10.1.1.1/24 (address and the prefix length of its subnet).',
});
const K8sName = Type.String({ minLength: 1, maxLength: 253 });
const LinkName = Type.String({ minLength: 1, maxLength: 64 });
const Mac = Type.String({ pattern: '^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$' });

// ---- cluster form: what users know, in the field names of the Kubernetes API ----

export const NodeAddress = Closed({
  type: Type.Union([
    Type.Literal('InternalIP'),
    Type.Literal('ExternalIP'),
    Type.Literal('Hostname'),
    Type.Literal('InternalDNS'),
    Type.Literal('ExternalDNS'),
  ]),
  address: Type.String({ minLength: 1, maxLength: 253 }),
});

export const ClusterNode = Closed({
  name: K8sName,
  addresses: Type.Array(NodeAddress, { minItems: 1 }),
  podCIDRs: Type.Array(Cidr, { maxItems: 2, description: 'At most one prefix per family, as in the Kubernetes API.' }),
});

export const PodIP = Type.Union([IpAddress, Closed({ ip: IpAddress })], {
  description: 'A pod IP, either as a string or as the Kubernetes API writes it: {"ip": "10.1.1.2"}.',
});

export const ClusterPod = Closed({
  namespace: Type.Optional(K8sName),
  name: K8sName,
  nodeName: K8sName,
  podIPs: Type.Optional(Type.Array(PodIP, { maxItems: 2 })),
  hostNetwork: Type.Optional(Type.Boolean()),
});

export const BridgeCni = Closed({
  plugin: Type.Literal('bridge'),
  routes: Type.Optional(Type.Union([Type.Literal('host-gw'), Type.Literal('cloud')], { default: 'host-gw' })),
});
export const FlannelCni = Closed({
  plugin: Type.Literal('flannel'),
  backend: Type.Optional(Type.Union([Type.Literal('vxlan'), Type.Literal('host-gw')])),
  vni: Type.Optional(Type.Integer({ minimum: 1, maximum: 16777215 })),
  directRouting: Type.Optional(Type.Boolean()),
});
export const CalicoCni = Closed({
  plugin: Type.Literal('calico'),
  mode: Type.Optional(Type.Union([Type.Literal('bgp'), Type.Literal('ipip'), Type.Literal('vxlan')])),
  crossSubnet: Type.Optional(Type.Boolean()),
  blockSize: Type.Optional(Type.Integer({ minimum: 16, maximum: 32 })),
  ipamBlocks: Type.Optional(Type.Array(Closed({ cidr: Cidr, nodeName: K8sName }))),
});
export const CiliumCni = Closed({
  plugin: Type.Literal('cilium'),
  routing: Type.Optional(Type.Union([Type.Literal('native'), Type.Literal('tunnel')])),
  tunnel: Type.Optional(Type.Union([Type.Literal('vxlan'), Type.Literal('geneve')])),
});
export const WeaveCni = Closed({
  plugin: Type.Literal('weave'),
  subnet: Type.Optional(Cidr),
});
export const Cni = Type.Union([BridgeCni, FlannelCni, CalicoCni, CiliumCni, WeaveCni], {
  description: 'The data path the CNI plugin programs into the kernel.',
});

export const ClusterNetwork = Closed({
  cidr: Type.Optional(Cidr),
  gateway: Type.Optional(IpAddress),
}, {
  description:
    'The underlay the nodes share. cidr: the L2 segment (default: the smallest prefix that holds every node address). ' +
    'gateway: a router outside the model; nodes get a default route via it.',
});

export const Cluster = Closed({
  nodes: Type.Array(ClusterNode, { minItems: 1 }),
  pods: Type.Optional(Type.Array(ClusterPod)),
  cni: Type.Optional(Cni),
  network: Type.Optional(ClusterNetwork),
});

// ---- fabric form: what the kernel sees, in the field names of `ip -j link|addr|route` ----

export const LinkKind = Type.Union([
  Type.Literal('veth'),
  Type.Literal('bridge'),
  Type.Literal('physical'),
  Type.Literal('vxlan'),
  Type.Literal('dummy'),
]);

export const Link = Closed({
  name: LinkName,
  kind: LinkKind,
  addresses: Type.Optional(Type.Array(InterfaceCidr)),
  peer: Type.Optional(Closed({ netns: K8sName, link: LinkName }, { description: 'The other end of a veth pair.' })),
  master: Type.Optional(Type.String({ minLength: 1, description: 'The bridge this link is a port of.' })),
  segment: Type.Optional(Type.String({ minLength: 1, description: 'The L2 segment a physical link is plugged into.' })),
  up: Type.Optional(Type.Boolean({ default: true })),
  mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
  proxyArp: Type.Optional(Type.Boolean()),
  mac: Type.Optional(Mac),
  vni: Type.Optional(Type.Integer({ minimum: 0, maximum: 16777215 })),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  local: Type.Optional(IpAddress),
  underlay: Type.Optional(LinkName),
});

export const RouteFlag = Type.Union([Type.Literal('onlink'), Type.Literal('linkdown'), Type.Literal('dead')]);

export const NextHop = Closed({
  gateway: Type.Optional(IpAddress),
  dev: LinkName,
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
  flags: Type.Optional(Type.Array(RouteFlag)),
});

export const Route = Closed({
  dst: Type.String({ minLength: 1, maxLength: 64, description: '"default", a prefix, or a bare address (a host route).' }),
  type: Type.Optional(
    Type.Union([
      Type.Literal('unicast'),
      Type.Literal('blackhole'),
      Type.Literal('unreachable'),
      Type.Literal('prohibit'),
    ]),
  ),
  gateway: Type.Optional(IpAddress),
  dev: Type.Optional(LinkName),
  metric: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
  flags: Type.Optional(Type.Array(RouteFlag)),
  scope: Type.Optional(Type.Union([Type.Literal('global'), Type.Literal('link'), Type.Literal('host')])),
  protocol: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  prefsrc: Type.Optional(IpAddress),
  table: Type.Optional(Type.Union([Type.Literal('main'), Type.Literal('local')])),
  nexthops: Type.Optional(Type.Array(NextHop, { minItems: 1 })),
});

export const Neighbour = Closed({ dst: IpAddress, lladdr: Mac, dev: LinkName });
export const FdbEntry = Closed({ mac: Mac, dev: LinkName, dst: IpAddress });

export const NetnsKind = Type.Union([
  Type.Literal('pod'),
  Type.Literal('node'),
  Type.Literal('router'),
  Type.Literal('host'),
]);

export const Netns = Closed({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  kind: NetnsKind,
  node: Type.Optional(Type.String({ minLength: 1, description: 'For a pod: the node it runs on (used to group hops).' })),
  forwarding: Type.Optional(Type.Boolean({ description: 'net.ipv4.ip_forward; default true for nodes and routers.' })),
  links: Type.Array(Link),
  routes: Type.Optional(Type.Array(Route)),
  neigh: Type.Optional(Type.Array(Neighbour)),
  fdb: Type.Optional(Type.Array(FdbEntry)),
});

export const Segment = Closed({
  name: Type.String({ minLength: 1 }),
  cidr: Type.Optional(Cidr),
  external: Type.Optional(
    Type.Array(IpAddress, {
      description: 'Addresses on this segment that belong to hosts outside the model (e.g. the upstream router).',
    }),
  ),
});

export const Fabric = Closed({
  netns: Type.Array(Netns, { minItems: 1 }),
  segments: Type.Optional(Type.Array(Segment)),
});

// ---- the stored document ----

const Description = Type.String({ maxLength: 4096 });

// One closed object with both forms optional rather than a union of two: a union makes Ajv report every error twice (once
// per branch), and "exactly one of cluster or fabric" is checked by the semantic validator with a precise pointer.
const topologyProperties = {
  description: Type.Optional(Description),
  cluster: Type.Optional(Cluster),
  fabric: Type.Optional(Fabric),
};
export const TopologyBody = Closed(
  { name: TopologyName, ...topologyProperties },
  { description: 'A topology: exactly one of `cluster` (the Kubernetes view) or `fabric` (the kernel view).' },
);
/** PUT takes the name from the path; a name in the body must agree with it. */
export const TopologyPutBody = Closed({ name: Type.Optional(TopologyName), ...topologyProperties });

export type ClusterDoc = Static<typeof Cluster>;
export type ClusterNodeDoc = Static<typeof ClusterNode>;
export type ClusterPodDoc = Static<typeof ClusterPod>;
export type CniDoc = Static<typeof Cni>;
export type FabricDoc = Static<typeof Fabric>;
export type NetnsDoc = Static<typeof Netns>;
export type LinkDoc = Static<typeof Link>;
export type RouteDoc = Static<typeof Route>;
export type NextHopDoc = Static<typeof NextHop>;
export type SegmentDoc = Static<typeof Segment>;
export type TopologyBodyDoc = Static<typeof TopologyPutBody>;

/** The form-specific part of a topology, tagged with its form. */
export type TopologySpec = { form: 'cluster'; cluster: ClusterDoc } | { form: 'fabric'; fabric: FabricDoc };
