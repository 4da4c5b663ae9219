// The two topology forms as JSON Schema (TypeBox). These are data only: the HTTP layer validates with them and the engine
// imports their static types, so the documents users send and the values the engine reads can never drift apart.
// Every object is closed (additionalProperties: false): a misspelt field is an error, not a silently ignored option.
import { Type, type Static, type TProperties, type TSchema, type ObjectOptions } from '@sinclair/typebox';
import { EndpointSlice, Endpoints, KubeProxy, Service } from './services.schema.js';

const Closed = <T extends TProperties>(properties: T, options: ObjectOptions = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options });

/** For objects of other tools (ip -j, the Kubernetes API): the fields read are described, every other one accepted. */
const Open = <T extends TProperties>(properties: T, options: ObjectOptions = {}) =>
  Type.Object(properties, { additionalProperties: true, ...options });

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
  labels: Type.Optional(
    Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 63 }), {
      description: "The node's metadata.labels, for the nodes peers of AdminNetworkPolicy egress rules.",
    }),
  ),
  addresses: Type.Array(NodeAddress, { minItems: 1 }),
  podCIDRs: Type.Array(Cidr, { maxItems: 2, description: 'At most one prefix per family, as in the Kubernetes API.' }),
  annotations: Type.Optional(
    Type.Record(Type.String({ maxLength: 253 }), Type.String({ maxLength: 4096 }), {
      description:
        "The node's metadata.annotations that CNI plugins write and the data paths read: Calico's " +
        '`projectcalico.org/IPv4IPIPTunnelAddr`, `IPv4VXLANTunnelAddr` and `IPv6VXLANTunnelAddr` (the tunnel device\'s ' +
        'address, and so the IPAM block of the node) and `IPv4Address`; Cilium\'s `network.cilium.io/ipv4-cilium-host` and ' +
        '`ipv4-health-ip` (and IPv6, and the `io.cilium.network.` keys of Cilium before 1.12); flannel\'s ' +
        '`flannel.alpha.coreos.com/backend-data` (`VtepMAC`). Other annotations are kept and not read.',
    }),
  ),
});

export const PodIP = Type.Union([IpAddress, Closed({ ip: IpAddress })], {
  description: 'A pod IP, either as a string or as the Kubernetes API writes it: {"ip": "10.1.1.2"}.',
});

const Labels = Type.Record(Type.String({ minLength: 1, maxLength: 317 }), Type.String({ maxLength: 63 }), {
  description: 'Labels, as metadata.labels holds them.',
});
const Protocol = Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]);

export const ContainerPort = Closed(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 15, description: 'The name a NetworkPolicy port can give instead of the number.' })),
    containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Optional(Protocol),
  },
  { description: "One of the pod's containers' ports, as spec.containers[].ports lists them (protocol TCP when absent)." },
);

export const ClusterPod = Closed({
  namespace: Type.Optional(K8sName),
  name: K8sName,
  nodeName: K8sName,
  podIPs: Type.Optional(Type.Array(PodIP, { maxItems: 2 })),
  hostNetwork: Type.Optional(Type.Boolean()),
  labels: Type.Optional(Labels),
  ports: Type.Optional(Type.Array(ContainerPort, { description: "Every container's ports, for the named ports of NetworkPolicies." })),
});

export const ClusterNamespace = Closed(
  { name: K8sName, labels: Type.Optional(Labels) },
  {
    description:
      'A namespace and its labels, for namespaceSelectors. kubernetes.io/metadata.name is always set to the name, as the ' +
      'API server does; a namespace that pods or policies name but this list does not has that label only.',
  },
);

// NetworkPolicy as the Kubernetes API holds it (networking.k8s.io/v1): the fields the verdict reads are described and
// checked, every other one (metadata's uid, annotations, status…) is accepted, so that `kubectl get -o json` fits as is.

export const LabelSelector = Open(
  {
    matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
    matchExpressions: Type.Optional(
      Type.Array(
        Open({
          key: Type.String({ minLength: 1 }),
          operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]),
          values: Type.Optional(Type.Array(Type.String())),
        }),
      ),
    ),
  },
  { description: 'A label selector: every matchLabels pair and every matchExpression must hold; {} selects everything.' },
);

export const PolicyPeer = Open(
  {
    podSelector: Type.Optional(LabelSelector),
    namespaceSelector: Type.Optional(LabelSelector),
    ipBlock: Type.Optional(Open({ cidr: Type.String({ minLength: 2, maxLength: 64 }), except: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }))) })),
  },
  {
    description:
      "A peer: pods (podSelector, in the policy's namespace unless namespaceSelector is given), pods of namespaces " +
      '(both: AND), or an ipBlock.',
  },
);

export const PolicyPort = Open({
  protocol: Type.Optional(Protocol),
  port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ minLength: 1, maxLength: 15 })])),
  endPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
});

export const NetworkPolicy = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Open({ name: K8sName, namespace: Type.Optional(K8sName) }),
    spec: Open({
      podSelector: LabelSelector,
      policyTypes: Type.Optional(Type.Array(Type.Union([Type.Literal('Ingress'), Type.Literal('Egress')]))),
      ingress: Type.Optional(Type.Array(Open({ from: Type.Optional(Type.Array(PolicyPeer)), ports: Type.Optional(Type.Array(PolicyPort)) }))),
      egress: Type.Optional(Type.Array(Open({ to: Type.Optional(Type.Array(PolicyPeer)), ports: Type.Optional(Type.Array(PolicyPort)) }))),
    }),
  },
  { description: 'A networking.k8s.io/v1 NetworkPolicy, as `kubectl get networkpolicy -o json` prints it.' },
);

// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, KEP-2091) as the API holds them:
// cluster-scoped, a subject of namespaces or of pods in namespaces, ordered rules with an action. Each peer and port gives
// exactly one of its fields (the CRD's MinProperties/MaxProperties), which the semantic validator checks with pointers.

const AdminSubject = Open(
  {
    namespaces: Type.Optional(LabelSelector),
    pods: Type.Optional(Open({ namespaceSelector: LabelSelector, podSelector: LabelSelector })),
  },
  { description: 'The pods the policy applies to: those of the namespaces selected, or the pods selected in the namespaces selected (exactly one).' },
);

const AdminPeer = Open(
  {
    namespaces: Type.Optional(LabelSelector),
    pods: Type.Optional(Open({ namespaceSelector: LabelSelector, podSelector: LabelSelector })),
    nodes: Type.Optional(LabelSelector),
    networks: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }), { minItems: 1, maxItems: 25 })),
  },
  {
    description:
      'Exactly one of: every pod of the namespaces selected; the pods selected in the namespaces selected; (egress only) the ' +
      'addresses of the nodes selected by their labels; (egress only) CIDRs, which pod addresses fall in too. A peer of ' +
      "another kind only (a newer API's, such as domainNames) fails closed, as the API asks: an Allow rule does not " +
      'match through it, a Deny or Pass rule denies everything.',
  },
);

const AdminPort = Open(
  {
    portNumber: Type.Optional(Open({ protocol: Type.Optional(Protocol), port: Type.Integer({ minimum: 1, maximum: 65535 }) })),
    namedPort: Type.Optional(Type.String({ minLength: 1, maxLength: 15 })),
    portRange: Type.Optional(
      Open({ protocol: Type.Optional(Protocol), start: Type.Integer({ minimum: 1, maximum: 65535 }), end: Type.Integer({ minimum: 1, maximum: 65535 }) }),
    ),
  },
  { description: 'Exactly one of: a port (protocol TCP when absent), a container port name of the destination pod, a range start-end.' },
);

const AdminPorts = Type.Optional(Type.Array(AdminPort, { minItems: 1, maxItems: 100, description: 'Absent: every port and protocol.' }));
const RuleName = Type.Optional(Type.String({ maxLength: 100 }));
const AdminPeers = Type.Array(AdminPeer, { minItems: 1, maxItems: 100 });
const AdminAction = Type.Union([Type.Literal('Allow'), Type.Literal('Deny'), Type.Literal('Pass')]);
const BaselineAction = Type.Union([Type.Literal('Allow'), Type.Literal('Deny')]);
const Rules = <T extends TProperties>(rule: T) => Type.Optional(Type.Array(Open(rule), { maxItems: 100 }));

/** A cluster-scoped object of the admin policy API: its name, and the spec given. */
const AdminObject = <T extends TSchema>(spec: T, description: string) =>
  Open({ apiVersion: Type.Optional(Type.String()), kind: Type.Optional(Type.String()), metadata: Open({ name: K8sName }), spec }, { description });

export const AdminNetworkPolicy = AdminObject(
  Open({
    priority: Type.Integer({ minimum: 0, maximum: 1000, description: 'Lower numbers are evaluated first.' }),
    subject: AdminSubject,
    ingress: Rules({ name: RuleName, action: AdminAction, from: AdminPeers, ports: AdminPorts }),
    egress: Rules({ name: RuleName, action: AdminAction, to: AdminPeers, ports: AdminPorts }),
  }),
  'A policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy. Evaluated before NetworkPolicy, by priority; the first ' +
    'matching rule decides: Allow and Deny are final, Pass hands the connection to NetworkPolicy (and BANP).',
);

export const BaselineAdminNetworkPolicy = AdminObject(
  Open({
    subject: AdminSubject,
    ingress: Rules({ name: RuleName, action: BaselineAction, from: AdminPeers, ports: AdminPorts }),
    egress: Rules({ name: RuleName, action: BaselineAction, to: AdminPeers, ports: AdminPorts }),
  }),
  'A policy.networking.k8s.io/v1alpha1 BaselineAdminNetworkPolicy (named `default`, one per cluster). Evaluated last, ' +
    'only for a pod that no NetworkPolicy isolates for the direction; the first matching rule decides.',
);

export const BridgeCni = Closed({
  plugin: Type.Literal('bridge'),
  routes: Type.Optional(Type.Union([Type.Literal('host-gw'), Type.Literal('cloud')], { default: 'host-gw' })),
});
// The egress masquerade of each data path (engine/compile/masquerade.ts): each plugin's own knob, with its default when absent.
const CidrList = (description: string) => Type.Optional(Type.Array(Cidr, { maxItems: 64, description }));

export const FlannelCni = Closed({
  plugin: Type.Literal('flannel'),
  backend: Type.Optional(Type.Union([Type.Literal('vxlan'), Type.Literal('host-gw')])),
  ipMasq: Type.Optional(
    Type.Boolean({
      default: true,
      description:
        "flanneld's --ip-masq (kube-flannel.yml passes it): pod traffic leaving the flannel network is masqueraded to the node's address.",
    }),
  ),
  network: Type.Optional(
    Type.String({
      minLength: 4,
      maxLength: 64,
      description:
        "net-conf.json's Network (the cluster's IPv4 pod network); absent: the smallest prefix that holds every node's IPv4 pod CIDR.",
    }),
  ),
  ipv6Network: Type.Optional(Type.String({ minLength: 4, maxLength: 64, description: "net-conf.json's IPv6Network; absent: as network, for IPv6." })),
  vni: Type.Optional(Type.Integer({ minimum: 1, maximum: 16777215 })),
  directRouting: Type.Optional(Type.Boolean()),
  pods: Type.Optional(
    Type.Union([Type.Literal('bridge'), Type.Literal('calico')], {
      default: 'bridge',
      description:
        "How the pods attach: `bridge`, flannel's own (the cni0 bridge); `calico`, Canal's (Calico's CNI plugin: a cali veth " +
        'per pod with proxy ARP and a /32 route on the node, no bridge), flannel still carrying the packets between the nodes.',
    }),
  ),
});
export const CalicoCni = Closed({
  plugin: Type.Literal('calico'),
  mode: Type.Optional(Type.Union([Type.Literal('bgp'), Type.Literal('ipip'), Type.Literal('vxlan')])),
  crossSubnet: Type.Optional(Type.Boolean()),
  blockSize: Type.Optional(Type.Integer({ minimum: 16, maximum: 32 })),
  ipamBlocks: Type.Optional(Type.Array(Closed({ cidr: Cidr, nodeName: K8sName }))),
  ipPools: Type.Optional(
    Type.Array(
      Closed({
        cidr: Cidr,
        natOutgoing: Type.Optional(Type.Boolean({ default: false, description: "The IPPool's spec.natOutgoing (the API's default is false)." })),
        disabled: Type.Optional(Type.Boolean()),
      }),
      {
        maxItems: 64,
        description:
          "Calico's IPPools (spec.cidr, natOutgoing, disabled): a pod of a natOutgoing pool is masqueraded to its node's address " +
          "towards any address outside every pool, disabled ones included. Absent: calico-node's default pools, one per family " +
          'over the pods\' addresses (the smallest prefix that holds every pod CIDR and pod IP), natOutgoing for IPv4 only ' +
          '(CALICO_IPV4POOL_NAT_OUTGOING defaults to true, CALICO_IPV6POOL_NAT_OUTGOING to false).',
      },
    ),
  ),
});
export const CiliumCni = Closed({
  plugin: Type.Literal('cilium'),
  routing: Type.Optional(Type.Union([Type.Literal('native'), Type.Literal('tunnel')])),
  tunnel: Type.Optional(Type.Union([Type.Literal('vxlan'), Type.Literal('geneve')])),
  enableIPv4Masquerade: Type.Optional(Type.Boolean({ default: true, description: "cilium-config's enable-ipv4-masquerade." })),
  enableIPv6Masquerade: Type.Optional(Type.Boolean({ default: true, description: "cilium-config's enable-ipv6-masquerade." })),
  ipv4NativeRoutingCIDR: Type.Optional(
    Type.String({
      minLength: 4,
      maxLength: 64,
      description:
        "cilium-config's ipv4-native-routing-cidr: destinations in it are not masqueraded. Absent: with the tunnel, the node's own " +
        'pod CIDR (Cilium\'s default); with native routing, where Cilium requires it, the smallest prefix that holds every IPv4 pod CIDR.',
    }),
  ),
  ipv6NativeRoutingCIDR: Type.Optional(Type.String({ minLength: 4, maxLength: 64, description: "cilium-config's ipv6-native-routing-cidr; as ipv4NativeRoutingCIDR." })),
  kubeProxyReplacement: Type.Optional(
    Type.Boolean({
      description:
        "cilium-config's kube-proxy-replacement (true, or strict before Cilium 1.14): Cilium's BPF programs translate Services " +
        "instead of kube-proxy, at the client pod's socket (connect) or its lxc device's tc hook rather than in the node's " +
        'iptables; traces through a Service say so.',
    }),
  ),
});
export const WeaveCni = Closed({
  plugin: Type.Literal('weave'),
  subnet: Type.Optional(Cidr),
});
// The data paths that route every pod by its own /32 (/128) on the node, with no bridge: kindnet routes the other
// nodes' pod CIDRs via their nodes; on GKE (VPC-native), EKS (the AWS VPC CNI) and AKS (Azure CNI) the cloud's VPC
// delivers by address, and the pods hold VPC addresses (AWS, Azure CNI) or addresses of their node's alias range (GKE,
// Azure CNI overlay).
export const KindnetCni = Closed({
  plugin: Type.Literal('kindnet'),
  podSubnet: CidrList(
    "kindnetd's POD_SUBNET (kind's networking.podSubnet): the destinations its KIND-MASQ-AGENT chain leaves alone; it masquerades " +
      "everything else that leaves a node. Absent: per family the smallest prefix that holds every node's pod CIDR.",
  ),
});
export const GkeCni = Closed({ plugin: Type.Literal('gke') });
export const AwsVpcCni = Closed({
  plugin: Type.Literal('aws-vpc-cni'),
  externalSNAT: Type.Optional(
    Type.Boolean({
      default: false,
      description: "AWS_VPC_K8S_CNI_EXTERNALSNAT: true leaves SNAT to a NAT gateway; false (the default) SNATs traffic to outside the VPC to the node's primary IP.",
    }),
  ),
  excludeSNATCIDRs: CidrList('AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: destinations outside the VPC that are not SNATed either.'),
  vpcCIDRs: CidrList(
    "The VPC's CIDR blocks (what aws-node reads from the instance metadata); absent: the smallest prefix around the nodes' " +
      "subnets, and the one around the pods' addresses.",
  ),
});
export const AzureCni = Closed({
  plugin: Type.Literal('azure-cni'),
  overlay: Type.Optional(
    Type.Boolean({ description: 'Azure CNI overlay: pods take addresses of their node\'s pod CIDR, which the VNet routes to the node.' }),
  ),
});
export const Cni = Type.Union([BridgeCni, FlannelCni, CalicoCni, CiliumCni, WeaveCni, KindnetCni, GkeCni, AwsVpcCni, AzureCni], {
  description: 'The data path the CNI plugin programs into the kernel.',
});

export const IpMasqAgent = Closed(
  {
    nonMasqueradeCIDRs: CidrList(
      "The agent's config (the ip-masq-agent ConfigMap): destinations not masqueraded. Absent: 10.0.0.0/8, 172.16.0.0/12 and " +
        '192.168.0.0/16, and with nomasqAllReservedRanges the other reserved ranges too (100.64.0.0/10, 192.0.0.0/24, 192.0.2.0/24, ' +
        '192.88.99.0/24, 198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24, 240.0.0.0/4).',
    ),
    masqLinkLocal: Type.Optional(Type.Boolean({ default: false, description: 'false: 169.254.0.0/16 is not masqueraded either.' })),
    masqLinkLocalIPv6: Type.Optional(Type.Boolean({ default: false, description: 'false: fe80::/10 is not masqueraded either.' })),
    nomasqAllReservedRanges: Type.Optional(Type.Boolean({ default: false, description: 'The --nomasq-all-reserved-ranges flag (GKE passes it).' })),
    enableIPv6: Type.Optional(Type.Boolean({ default: false, description: 'The --enable-ipv6 flag: without it the agent leaves IPv6 alone.' })),
  },
  {
    description:
      'ip-masq-agent (kubernetes-sigs/ip-masq-agent) on every node: traffic leaving a node for a destination outside ' +
      "nonMasqueradeCIDRs is masqueraded to the node's address, whatever its source. Absent: it runs only where the data path " +
      "runs it by default: on GKE with nomasqAllReservedRanges, on AKS's Azure CNI with the VNet as nonMasqueradeCIDRs (the " +
      "smallest prefix around the nodes' subnets, and the one around the pods' addresses, which the overlay's pod CIDR is).",
  },
);

export const ClusterNetwork = Closed({
  cidr: Type.Optional(Cidr),
  gateway: Type.Optional(IpAddress),
  subnets: Type.Optional(Type.Array(Cidr, { minItems: 2, maxItems: 64 })),
}, {
  description:
    'The underlay the nodes share. cidr: the L2 segment (default: the smallest prefix that holds every node address). ' +
    'gateway: a router outside the model; nodes get a default route via it. subnets (instead of cidr and gateway): the ' +
    'nodes sit on several L2 segments, one per subnet, joined by a router netns `underlay-router` that is every ' +
    "node's default gateway; a host-gw route to a node on another subnet then finds no neighbour.",
});

export const Cluster = Closed({
  nodes: Type.Array(ClusterNode, { minItems: 1 }),
  pods: Type.Optional(Type.Array(ClusterPod)),
  cni: Type.Optional(Cni),
  network: Type.Optional(ClusterNetwork),
  namespaces: Type.Optional(Type.Array(ClusterNamespace)),
  networkPolicies: Type.Optional(Type.Array(NetworkPolicy)),
  adminNetworkPolicies: Type.Optional(Type.Array(AdminNetworkPolicy)),
  baselineAdminNetworkPolicies: Type.Optional(Type.Array(BaselineAdminNetworkPolicy, { maxItems: 1 })),
  services: Type.Optional(Type.Array(Service)),
  endpointSlices: Type.Optional(Type.Array(EndpointSlice)),
  endpoints: Type.Optional(Type.Array(Endpoints)),
  kubeProxy: Type.Optional(KubeProxy),
  ipMasqAgent: Type.Optional(IpMasqAgent),
  serviceCIDRs: Type.Optional(
    Type.Array(Cidr, {
      maxItems: 2,
      description: "kube-apiserver's --service-cluster-ip-range: a trace to an address in it that no Service holds says so.",
    }),
  ),
});

// ---- fabric form: what the kernel sees, in the field names of `ip -j link|addr|route` ----

export const LinkKind = Type.Union([
  Type.Literal('veth'),
  Type.Literal('bridge'),
  Type.Literal('physical'),
  Type.Literal('vxlan'),
  Type.Literal('geneve'),
  Type.Literal('ipip'),
  Type.Literal('dummy'),
]);

export const IpcacheEntry = Closed({ prefix: Cidr, tunnelEndpoint: IpAddress });

export const LinkAddress = Type.Union(
  [InterfaceCidr, Closed({ address: InterfaceCidr, noprefixroute: Type.Optional(Type.Boolean()) })],
  {
    description:
      'An interface address, as a string or as {"address", "noprefixroute"}. noprefixroute: the kernel holds no connected ' +
      'route for it (`ip addr add … noprefixroute`, or `ip route del` of the route the address brought).',
  },
);

export const Link = Closed({
  name: LinkName,
  kind: LinkKind,
  addresses: Type.Optional(Type.Array(LinkAddress)),
  peer: Type.Optional(Closed({ netns: K8sName, link: LinkName }, { description: 'The other end of a veth pair.' })),
  master: Type.Optional(Type.String({ minLength: 1, description: 'The bridge this link is a port of.' })),
  segment: Type.Optional(Type.String({ minLength: 1, description: 'The L2 segment a physical link is plugged into.' })),
  up: Type.Optional(Type.Boolean({ default: true })),
  mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
  proxyArp: Type.Optional(Type.Boolean()),
  proxyNdp: Type.Optional(
    Type.Array(IpAddress, {
      description:
        'IPv6 addresses the link answers Neighbour Solicitations for by proxy (`ip -6 neigh add proxy <addr> dev <link>` ' +
        "with proxy_ndp on): the kernel's stand-in for Cilium's BPF NDP responder.",
    }),
  ),
  mac: Type.Optional(Mac),
  vni: Type.Optional(Type.Integer({ minimum: 0, maximum: 16777215 })),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  local: Type.Optional(IpAddress),
  underlay: Type.Optional(LinkName),
  ipcache: Type.Optional(
    Type.Array(IpcacheEntry, {
      description:
        "Cilium's ipcache on an external-mode vxlan or geneve link (`cilium bpf ipcache list`): the tunnel endpoint of each " +
        'prefix. A packet routed onto the link is encapsulated to the endpoint of the longest prefix holding its destination.',
    }),
  ),
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
  family: Type.Optional(
    Type.Union([Type.Literal(4), Type.Literal(6)], {
      description:
        'The family of a "default" route that no gateway places (`ip -6 route add unreachable default`); needed when the ' +
        'netns has addresses of both families or none.',
    }),
  ),
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
  multipathHashPolicy: Type.Optional(
    Type.Union([Type.Literal(0), Type.Literal(1)], {
      description: 'net.ipv4 and net.ipv6 fib_multipath_hash_policy: 0 (addresses; the default) or 1 (addresses, protocol and ports).',
    }),
  ),
  multipathHashSeed: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 4294967295,
      description:
        "net.ipv4.fib_multipath_hash_seed (Linux 6.11 and later): with it a trace names the ECMP branch the kernel takes; " +
        'absent, the kernel keys the hash with a secret drawn at boot and a trace lists every branch.',
    }),
  ),
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

// ---- dumps form: what `ip -j` and `bridge -j` print in each namespace, pasted verbatim ----
// These outputs carry many more fields than the import reads, and new iproute2 versions add some: inside the dumps only the
// fields read are described (and checked), every other one is accepted. The objects around the dumps are closed.

const Strings = Type.Array(Type.String());
const NameOrNumber = Type.Union([Type.String(), Type.Integer()]);

export const DumpLink = Open(
  {
    ifindex: Type.Integer({ minimum: 1 }),
    ifname: LinkName,
    flags: Type.Optional(Strings),
    operstate: Type.Optional(Type.String()),
    mtu: Type.Optional(Type.Integer()),
    address: Type.Optional(Type.String()),
    link: Type.Optional(Type.String({ description: 'The peer of a veth in the same namespace, by name.' })),
    link_index: Type.Optional(Type.Integer({ description: "The peer's ifindex, in the namespace link_netnsid names." })),
    link_netnsid: Type.Optional(Type.Integer({ description: 'The namespace of the peer, as this namespace numbers the others.' })),
    master: Type.Optional(Type.String()),
    linkinfo: Type.Optional(
      Open({
        info_kind: Type.Optional(Type.String()),
        info_data: Type.Optional(Open({}, { description: 'For vxlan: id, port, local (or local6), link.' })),
      }),
    ),
  },
  { description: 'One entry of `ip -j -d link show`.' },
);

export const DumpAddrInfo = Open({
  family: Type.Optional(Type.String()),
  local: Type.Optional(Type.String()),
  prefixlen: Type.Optional(Type.Integer({ minimum: 0, maximum: 128 })),
  scope: Type.Optional(NameOrNumber),
  address: Type.Optional(Type.String({ description: 'The peer of a point-to-point address.' })),
  noprefixroute: Type.Optional(Type.Boolean()),
  dadfailed: Type.Optional(Type.Boolean()),
});

export const DumpAddr = Open(
  { ifindex: Type.Optional(Type.Integer()), ifname: LinkName, addr_info: Type.Optional(Type.Array(DumpAddrInfo)) },
  { description: 'One entry of `ip -j addr show`.' },
);

export const DumpNextHop = Open({
  gateway: Type.Optional(Type.String()),
  dev: Type.Optional(Type.String()),
  weight: Type.Optional(Type.Integer()),
  flags: Type.Optional(Strings),
});

export const DumpRoute = Open(
  {
    type: Type.Optional(Type.String()),
    dst: Type.String({ minLength: 1 }),
    gateway: Type.Optional(Type.String()),
    dev: Type.Optional(Type.String()),
    metric: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
    flags: Type.Optional(Strings),
    scope: Type.Optional(NameOrNumber),
    protocol: Type.Optional(NameOrNumber),
    prefsrc: Type.Optional(Type.String()),
    table: Type.Optional(NameOrNumber),
    nexthops: Type.Optional(Type.Array(DumpNextHop)),
  },
  { description: 'One entry of `ip -j route show table all` (or `ip -6 -j route show table all`).' },
);

export const DumpNeigh = Open(
  {
    dst: Type.String(),
    dev: Type.Optional(Type.String()),
    lladdr: Type.Optional(Type.String()),
    state: Type.Optional(Strings),
  },
  { description: 'One entry of `ip -j neigh show`.' },
);

export const DumpFdb = Open(
  {
    mac: Type.String(),
    ifname: Type.Optional(Type.String()),
    dev: Type.Optional(Type.String()),
    dst: Type.Optional(Type.String()),
  },
  { description: 'One entry of `bridge -j fdb show`.' },
);

export const DumpPeer = Closed(
  {
    link: LinkName,
    netns: Type.String({ minLength: 1, maxLength: 253 }),
    peerLink: LinkName,
  },
  { description: 'The veth `link` of this namespace has its other end `peerLink` in the namespace named `netns`.' },
);

export const DumpNetns = Closed(
  {
    name: Type.String({ minLength: 1, maxLength: 253 }),
    kind: NetnsKind,
    node: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'For a pod: the node it runs on. Its veth peers are looked for only in that node and its other pods ' +
          '(netnsids only name namespaces of one kernel).',
      }),
    ),
    link: Type.Array(DumpLink, { description: 'The output of `ip -j -d link show`.' }),
    addr: Type.Array(DumpAddr, { description: 'The output of `ip -j addr show`.' }),
    route: Type.Array(DumpRoute, { description: 'The output of `ip -j route show table all`.' }),
    route6: Type.Optional(Type.Array(DumpRoute, { description: 'The output of `ip -6 -j route show table all`.' })),
    neigh: Type.Optional(Type.Array(DumpNeigh, { description: 'The output of `ip -j neigh show`.' })),
    neighProxy: Type.Optional(
      Type.Array(Open({ dst: Type.String(), dev: Type.Optional(Type.String()) }), {
        description: 'The output of `ip -j neigh show proxy` (proxy NDP entries).',
      }),
    ),
    fdb: Type.Optional(Type.Array(DumpFdb, { description: 'The output of `bridge -j fdb show`.' })),
    sysctl: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Integer()]), {
        description:
          'What no dump shows, by sysctl name: net.ipv4.ip_forward, net.ipv4.conf.all.proxy_arp, ' +
          'net.ipv4.conf.<link>.proxy_arp, net.ipv6.conf.<link>.proxy_ndp ("1" or "0"), ' +
          'net.ipv4.fib_multipath_hash_policy and _seed, net.ipv6.fib_multipath_hash_policy.',
      }),
    ),
    peers: Type.Optional(
      Type.Array(DumpPeer, { description: 'Veth peers given explicitly, for those link_netnsid and link_index cannot tell.' }),
    ),
  },
  { description: "One network namespace: its kind, and the dumps taken in it." },
);

export const DumpSegment = Closed(
  {
    name: Type.String({ minLength: 1 }),
    links: Type.Optional(
      Type.Array(Closed({ netns: Type.String({ minLength: 1, maxLength: 253 }), link: LinkName }), {
        description: 'Physical links plugged into this segment.',
      }),
    ),
    cidr: Type.Optional(Cidr),
    external: Type.Optional(
      Type.Array(IpAddress, { description: 'Addresses on this segment of hosts outside the dumps (the upstream router).' }),
    ),
  },
  {
    description:
      'An L2 segment. A physical link not listed in any segment joins the one whose cidr holds its address; the others ' +
      'get one segment per subnet they share.',
  },
);

export const Dumps = Closed(
  {
    netns: Type.Array(DumpNetns, { minItems: 1 }),
    segments: Type.Optional(Type.Array(DumpSegment)),
  },
  {
    description:
      'The kernel state of real namespaces, as iproute2 prints it: converted to a fabric when stored. Veth peers are ' +
      'resolved from link_netnsid and link_index, bridge ports from master, link kinds from linkinfo.info_kind.',
  },
);

// ---- the stored document ----

const Description = Type.String({ maxLength: 4096 });

// One closed object with every form optional rather than a union: a union makes Ajv report every error once per branch,
// and "exactly one of cluster, fabric or dumps" is checked by the semantic validator with a precise pointer.
const topologyProperties = {
  description: Type.Optional(Description),
  cluster: Type.Optional(Cluster),
  fabric: Type.Optional(Fabric),
  dumps: Type.Optional(Dumps),
};
export const TopologyBody = Closed(
  { name: TopologyName, ...topologyProperties },
  {
    description:
      'A topology: exactly one of `cluster` (the Kubernetes view), `fabric` (the kernel view) or `dumps` (the kernel ' +
      'view as `ip -j` prints it, stored as the fabric it converts to).',
  },
);
/** PUT takes the name from the path; a name in the body must agree with it. */
export const TopologyPutBody = Closed({ name: Type.Optional(TopologyName), ...topologyProperties });

export type ClusterDoc = Static<typeof Cluster>;
export type ClusterNodeDoc = Static<typeof ClusterNode>;
export type ClusterPodDoc = Static<typeof ClusterPod>;
export type CniDoc = Static<typeof Cni>;
export type NetworkPolicyDoc = Static<typeof NetworkPolicy>;
export type AdminNetworkPolicyDoc = Static<typeof AdminNetworkPolicy>;
export type BaselineAdminNetworkPolicyDoc = Static<typeof BaselineAdminNetworkPolicy>;
export type AdminPeerDoc = Static<typeof AdminPeer>;
export type AdminPortDoc = Static<typeof AdminPort>;
export type AdminSubjectDoc = Static<typeof AdminSubject>;
export type ContainerPortDoc = Static<typeof ContainerPort>;
export type LabelSelectorDoc = Static<typeof LabelSelector>;
export type PolicyPeerDoc = Static<typeof PolicyPeer>;
export type PolicyPortDoc = Static<typeof PolicyPort>;
export type ClusterNetworkDoc = Static<typeof ClusterNetwork>;
export type FabricDoc = Static<typeof Fabric>;
export type NetnsDoc = Static<typeof Netns>;
export type LinkDoc = Static<typeof Link>;
export type LinkAddressDoc = Static<typeof LinkAddress>;
export type RouteDoc = Static<typeof Route>;
export type NextHopDoc = Static<typeof NextHop>;
export type SegmentDoc = Static<typeof Segment>;
export type TopologyBodyDoc = Static<typeof TopologyPutBody>;
export type DumpsDoc = Static<typeof Dumps>;
export type DumpNetnsDoc = Static<typeof DumpNetns>;
export type DumpLinkDoc = Static<typeof DumpLink>;
export type DumpRouteDoc = Static<typeof DumpRoute>;
export type NeighbourDoc = Static<typeof Neighbour>;
export type FdbEntryDoc = Static<typeof FdbEntry>;

/** The form-specific part of a topology, tagged with its form. */
export type TopologySpec = { form: 'cluster'; cluster: ClusterDoc } | { form: 'fabric'; fabric: FabricDoc };
