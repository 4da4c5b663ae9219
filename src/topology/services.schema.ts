// Services, their endpoints and kube-proxy's configuration, as the Kubernetes API holds them (`v1 Service`,
// `discovery.k8s.io/v1 EndpointSlice`, `v1 Endpoints`, `kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration`), so that
// `kubectl get services,endpointslices -o json` pastes in. Unlike the rest of the cluster form these objects are open: the
// API adds fields with every release and a real object carries dozens that change no packet's fate. The fields kube-proxy
// reads to program the node are described (and checked); every other one is accepted and ignored.
import { Type, type Static, type TProperties, type ObjectOptions } from '@sinclair/typebox';

const Open = <T extends TProperties>(properties: T, options: ObjectOptions = {}) =>
  Type.Object(properties, { additionalProperties: true, ...options });

// Syntax (strict addresses, host bits) is checked by the semantic validator, with a pointer to every offending place.
const Address = Type.String({ minLength: 2, maxLength: 64, description: 'An IPv4 or IPv6 address.' });
const Name = Type.String({ minLength: 1, maxLength: 253 });
const PortNumber = Type.Integer({ minimum: 1, maximum: 65535 });
const Protocol = Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')], { description: 'Default TCP.' });
const Policy = Type.Union([Type.Literal('Cluster'), Type.Literal('Local')]);

const ObjectMeta = Open({
  name: Name,
  namespace: Type.Optional(Name),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
});

export const ServicePort = Open({
  name: Type.Optional(Type.String({ maxLength: 63, description: 'Names the port; an EndpointSlice port of the same name gives its endpoints.' })),
  protocol: Type.Optional(Protocol),
  port: PortNumber,
  targetPort: Type.Optional(Type.Union([PortNumber, Type.String()], { description: 'Read by the EndpointSlice controller, never by kube-proxy.' })),
  nodePort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
});

export const Service = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('Service')),
    metadata: ObjectMeta,
    spec: Open({
      type: Type.Optional(
        Type.Union([Type.Literal('ClusterIP'), Type.Literal('NodePort'), Type.Literal('LoadBalancer'), Type.Literal('ExternalName')]),
      ),
      clusterIP: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'An address, or "None" for a headless Service.' })),
      clusterIPs: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 2 })),
      ports: Type.Optional(Type.Array(ServicePort)),
      externalIPs: Type.Optional(Type.Array(Address)),
      externalTrafficPolicy: Type.Optional(Policy),
      internalTrafficPolicy: Type.Optional(Policy),
      loadBalancerSourceRanges: Type.Optional(Type.Array(Type.String({ minLength: 2, maxLength: 64 }))),
      healthCheckNodePort: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 65535, description: "Answered by kube-proxy itself on every node (externalTrafficPolicy Local)." }),
      ),
      sessionAffinity: Type.Optional(
        Type.Union([Type.Literal('None'), Type.Literal('ClientIP')], {
          description: 'ClientIP: kube-proxy sends a client to the endpoint it sent it to last, while that one is a candidate (the answer says so).',
        }),
      ),
      sessionAffinityConfig: Type.Optional(
        Open({
          clientIP: Type.Optional(
            Open({
              timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400, description: 'How long the affinity lasts after a client\'s last packet; default 10800 (3 hours).' })),
            }),
          ),
        }),
      ),
    }),
    status: Type.Optional(
      Open({
        loadBalancer: Type.Optional(
          Open({
            ingress: Type.Optional(
              Type.Array(
                Open({
                  ip: Type.Optional(Address),
                  hostname: Type.Optional(Type.String()),
                  ipMode: Type.Optional(Type.Union([Type.Literal('VIP'), Type.Literal('Proxy')])),
                }),
              ),
            ),
          }),
        ),
      }),
    ),
  },
  { description: 'A v1 Service, as `kubectl get service -o json` prints it.' },
);

const Conditions = Open({
  ready: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  serving: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  terminating: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
});

/** A list of hints as the EndpointSlice holds them: `{ name }` each (a zone's or a node's). */
const HintNames = Type.Optional(Type.Union([Type.Array(Open({ name: Type.String({ maxLength: 253 }) })), Type.Null()]));

export const EndpointSlice = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('EndpointSlice')),
    metadata: ObjectMeta,
    addressType: Type.Union([Type.Literal('IPv4'), Type.Literal('IPv6'), Type.Literal('FQDN')]),
    endpoints: Type.Union([
      Type.Array(
        Open({
          addresses: Type.Array(Address, { minItems: 1 }),
          conditions: Type.Optional(Conditions),
          nodeName: Type.Optional(Type.Union([Name, Type.Null()])),
          hints: Type.Optional(
            Type.Union([
              Open(
                {
                  forZones: HintNames,
                  forNodes: HintNames,
                },
                {
                  description:
                    "The EndpointSlice controller's topology hints. forNodes (trafficDistribution PreferSameNode): when every " +
                    "ready endpoint has one and one is for the node, kube-proxy sends the node's cluster traffic only to the " +
                    'endpoints hinted for it. Otherwise forZones (PreferSameZone, PreferClose, or the topology-mode annotation): ' +
                    "when every ready endpoint has one and one is for the node's topology.kubernetes.io/zone, only to those " +
                    'hinted for its zone.',
                },
              ),
              Type.Null(),
            ]),
          ),
        }),
      ),
      Type.Null(),
    ]),
    ports: Type.Optional(
      Type.Union([
        Type.Array(
          Open({
            name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            protocol: Type.Optional(Type.Union([Protocol, Type.Null()])),
            port: Type.Optional(Type.Union([PortNumber, Type.Null()])),
          }),
        ),
        Type.Null(),
      ]),
    ),
  },
  {
    description:
      'A discovery.k8s.io/v1 EndpointSlice; the label kubernetes.io/service-name names its Service. Absent conditions count ' +
      'as ready and serving, not terminating.',
  },
);

const EndpointAddress = Open({ ip: Address, nodeName: Type.Optional(Name) });

export const Endpoints = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('Endpoints')),
    metadata: ObjectMeta,
    subsets: Type.Optional(
      Type.Array(
        Open({
          addresses: Type.Optional(Type.Array(EndpointAddress)),
          notReadyAddresses: Type.Optional(Type.Array(EndpointAddress)),
          ports: Type.Optional(Type.Array(Open({ name: Type.Optional(Type.String()), port: PortNumber, protocol: Type.Optional(Protocol) }))),
        }),
      ),
    ),
  },
  {
    description:
      'A v1 Endpoints, for clusters whose objects are given that way: read only for a Service no EndpointSlice names ' +
      '(kube-proxy itself reads EndpointSlices, which the control plane mirrors from Endpoints).',
  },
);

export const KubeProxy = Open(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal(''), Type.Literal('iptables'), Type.Literal('nftables'), Type.Literal('ipvs')], {
        description:
          'Default iptables. nftables answers NodePorts on the primary node addresses only and never on 127.0.0.1, rejects a ' +
          "packet to a ClusterIP's other ports and drops one to an address of serviceCIDRs that no Service holds.",
      }),
    ),
    clusterCIDR: Type.Optional(
      Type.String({ maxLength: 140, description: 'The pods\' range, comma-separated per family; empty: no traffic is told local from outside.' }),
    ),
    detectLocalMode: Type.Optional(
      Type.Union(
        [Type.Literal(''), Type.Literal('ClusterCIDR'), Type.Literal('NodeCIDR'), Type.Literal('BridgeInterface'), Type.Literal('InterfaceNamePrefix')],
        { description: 'How traffic from pods is told from other traffic. Default ClusterCIDR.' },
      ),
    ),
    detectLocal: Type.Optional(
      Open({ bridgeInterface: Type.Optional(Type.String()), interfaceNamePrefix: Type.Optional(Type.String()) }),
    ),
    iptables: Type.Optional(
      Open({
        // kubeadm's kube-proxy ConfigMap writes the fields it leaves to kube-proxy's defaults as null.
        masqueradeAll: Type.Optional(Type.Union([Type.Boolean(), Type.Null()], { description: 'Masquerade all traffic to ClusterIPs. Default false.' })),
        localhostNodePorts: Type.Optional(
          Type.Union([Type.Boolean(), Type.Null()], { description: 'NodePorts answer on 127.0.0.1 (iptables mode, IPv4). Default true.' }),
        ),
      }),
    ),
    nftables: Type.Optional(Open({ masqueradeAll: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])) })),
    nodePortAddresses: Type.Optional(
      Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 64 })), Type.Null()], {
        description: 'The prefixes (or "primary") of the node addresses NodePorts answer on. Default: every local address (iptables, ipvs) or the primary ones (nftables).',
      }),
    ),
  },
  { description: "The fields of kube-proxy's KubeProxyConfiguration that change where a packet goes, with kube-proxy's defaults." },
);

export type ServiceDoc = Static<typeof Service>;
export type ServicePortDoc = Static<typeof ServicePort>;
export type EndpointSliceDoc = Static<typeof EndpointSlice>;
export type EndpointsDoc = Static<typeof Endpoints>;
export type KubeProxyDoc = Static<typeof KubeProxy>;
