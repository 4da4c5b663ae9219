// GET /v1/topologies/{name}/trace: what happens to a packet from one endpoint to another.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CloneType, Type } from '@sinclair/typebox';
import { NameParams } from './topologies.schemas.js';
import { TraceAnswer } from '../../answer/schema.js';
import { ANSWER_TOO_LARGE, answerTooLargeExample, problemResponse, Busy } from '../responses.js';
import { answerQuery, Family, Port, PortOrName, Protocol, ServiceEndpointParam, Size } from './traces.schemas.js';
import { pickFormat, type Format } from '../formats.js';
import { sendEncoded } from '../work.js';
import { answerTooLarge, DEFAULT_MAX_ANSWER_BYTES, LESS_THAN_DRAWN } from '../../answer/size.js';
import { MAX_PATHS } from '../../engine/trace.js';
import { MAX_REVISION } from './topologies.schemas.js';


export const TraceParams = NameParams;

export const TraceQuery = Type.Object(
  {
    from: Type.String({ minLength: 1, maxLength: 253, description: 'Where the packet starts. A pod (`namespace/name`, or a bare name when unique), a node, a netns, or one of their addresses; with `enter`, any address (a client outside the model).', examples: ['pod-a1'] }),
    to: Type.String({ minLength: 1, maxLength: 253, description: 'Where the packet is sent. Like `from`, or any address, including one that nobody in the topology owns (a ClusterIP, a node address with a NodePort, a load-balancer IP or an externalIP), or a Service: `svc/<namespace>/<name>` (its ClusterIP and the port `port` names or numbers, its protocol; the only port when `port` is left out).', examples: ['default/pod-b1'] }),
    protocol: CloneType(Protocol, { default: 'icmp', description: 'The protocol of the flow, echoed in `flow`; NetworkPolicy rules match on it and on the destination port.', examples: ['tcp'] }),
    port: Type.Optional(CloneType(PortOrName, { description: 'The destination port: another name for `dstPort`, kept for the clients that use it. Giving both with different values is answered 400. It may be a name: with `to=svc/…` the Service port\'s (`http`), otherwise one of the destination pod\'s container ports, as NetworkPolicy names ports (400 when the pod has no such port).', examples: [8080] })),
    enter: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'With `from` an address outside the model (a client on the internet, a load balancer): the node or netns its packet enters, by the link that node routes that address out of (its uplink), as Batfish\'s start location. The packet arrives as one forwarded to it: kube-proxy\'s rules there see external traffic.', examples: ['node-a'] })),
    src: Type.Optional(Type.String({ minLength: 2, maxLength: 64, description: 'The source address a node or netns `from` sends from, as `ip route get … from` picks it: one of its own addresses, or loopback (`127.0.0.1`, which kube-proxy\'s localhost NodePorts answer). 400 when it is not one of them.', examples: ['127.0.0.1'] })),
    endpoint: Type.Optional(CloneType(ServiceEndpointParam, { description: 'Of the endpoints kube-proxy may DNAT a Service packet to (each traced as a path of its own), trace this address\'s only; one that is not among them is answered 400 with them in `candidates`.', examples: ['10.1.2.10'] })),
    srcPort: Type.Optional(CloneType(Port, { description: 'The source port; only with `protocol=tcp`, `udp` or `sctp` (400 otherwise).', examples: [40000] })),
    dstPort: Type.Optional(CloneType(Port, { description: 'The destination port; only with `protocol=tcp`, `udp` or `sctp` (400 otherwise).', examples: [8080] })),
    family: Type.Optional(CloneType(Family, { description: 'The address family to trace in, `4` or `6`, when the endpoints are names (pods, nodes, netns) with addresses of both; each family is routed in its own tables. Without it the trace is made in IPv4 when both ends have an IPv4 address, in IPv6 otherwise. An end without an address of the asked family, or an address of the other family, is answered 400 with `family` in `errors`.', examples: [6] })),
    size: Type.Optional(CloneType(Size, { description: 'The size of the IP packet in bytes (headers included), checked against the MTU along the path: the answer\'s `mtu` then says whether it `fits` and, in `explanation`, what Linux does with it when it does not. The disposition does not change.', examples: [1500] })),
    ttl: Type.Integer({ minimum: 1, maximum: 255, default: 64, description: 'The TTL (IPv6 hop limit) the packet leaves the source with; every namespace that forwards it takes one off.', examples: [64] }),
    ...answerQuery(' The JSON answer only: the other formats are drawn from the full answer, with every path.'),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, description: 'The revision to trace through, while it is kept (404 otherwise). Leave it out for the newest.', examples: [1] })),
    format: Type.Optional(
      Type.Union(['json', 'text', 'markdown', 'mermaid', 'svg'].map((f) => Type.Literal(f)), {
        description: 'The answer\'s format; it overrides the Accept header. `json` (the default), `text` (a summary line and one line per hop, for terminals and bots), `markdown` (a verdict and a table, for Teams, Mattermost, GitHub; or a list, see `layout`), `mermaid` (a flowchart) or `svg` (a diagram drawn by the service: hops grouped by node, the drop point in red).', examples: ['text'],
      }),
    ),
    layout: Type.Optional(
      Type.Union([Type.Literal('table'), Type.Literal('list')], {
        description: 'With `format=markdown`: the hops as a `table` (the default) or as a numbered `list`, for chats that show no tables (Slack).',
        examples: ['list'],
      }),
    ),
  },
  { additionalProperties: false },
);

const tracePacketDoc = {
  tags: ['trace'],
  operationId: 'tracePacket',
  summary: 'Trace a packet from one endpoint to another',
  description: 'Follows one packet from `from` to `to` through a revision of the topology (the newest unless `revision` says\n' +
    'otherwise), hop by hop, deciding at every network namespace as the Linux kernel would, and says where and why it\n' +
    'ends. Nothing is sent anywhere: the answer is computed from the stored document.\n' +
    '\n' +
    '**Endpoints.** `from` and `to` each name one of:\n' +
    '\n' +
    '- a pod: `namespace/name`, or the bare name when only one pod has it; otherwise 400\n' +
    '  `urn:pathtrace:problem:ambiguous-endpoint`, with the pods it may mean in `candidates`. A hostNetwork pod lives\n' +
    '  in its node\'s namespace.\n' +
    '- a node (cluster form), by its name; its address is its InternalIP (its ExternalIP when it has none).\n' +
    '- a network namespace (fabric form), by its name.\n' +
    '- an IPv4 or IPv6 address. As `from`, it must be an address of a pod, node or netns of the topology (400\n' +
    '  otherwise), unless `enter` names the node or netns a packet from that outside address enters (by the link that\n' +
    '  node routes the address out of); `src` picks the source address of a node or netns `from` (loopback included).\n' +
    '  As `to`, any address will do: one that nobody in the\n' +
    '  topology owns (an unassigned pod IP, a host on the internet) is traced as far as the packet gets, and the\n' +
    '  answer\'s `destination.netns` is null.\n' +
    '\n' +
    'A name that is none of these is answered 404 `urn:pathtrace:problem:unknown-endpoint`, with the names near it\n' +
    'in `candidates` (up to 10, nearest first: those that contain it, those a typo or two away, the same pod in\n' +
    'another namespace). The trace is made in the `family` asked for, or else in IPv4 when both\n' +
    'ends have an IPv4 address, in IPv6 otherwise; ends with no family in common, or without the asked one, are\n' +
    'answered 400. `protocol`, `srcPort` and `dstPort` (`port` is another name for it) describe the flow and are\n' +
    'echoed in `flow`; the ports go only with `protocol=tcp`, `udp` or `sctp` (400 otherwise). No routing decision\n' +
    'depends on them; they choose the ECMP hash policy (below), and kube-proxy\'s and NetworkPolicy rules match on\n' +
    'them. `port` may name a port: with `to=svc/…` the Service\'s, otherwise one of the destination pod\'s container\n' +
    'ports (`port=http`), resolved as NetworkPolicy resolves named ports (400 when the pod has no such port).\n' +
    '\n' +
    '**NetworkPolicy.** In a cluster with `networkPolicies`, a `POLICY` step gives the verdict at the source pod\'s edge\n' +
    '(egress: in the first netns the packet enters after the pod, after any DNAT there) and at the destination pod\'s\n' +
    '(ingress: on delivery, seeing the source the packet then has): `direction`, `verdict` (`ALLOWED`, `DENIED`,\n' +
    '`NOT_ISOLATED`: no policy selects the pod for that direction; `FROM_NODE`: the pod\'s own node, which a pod cannot\n' +
    'block), `pod`, `peer` and `peerPod`, `protocol` and `port`, every policy that isolates the pod (`isolatedBy`), the\n' +
    'rule that allowed (`allowedBy`: policy, rule index, peer, port), or when denied the rule that came closest\n' +
    '(`closest`) with what it does not match (`unmet`: namespace labels, pod labels, ipBlock, port). A denial ends the\n' +
    'trace `DENIED`, the DROP step saying `direction`. hostNetwork pods and nodes are not subject to NetworkPolicy.\n' +
    'With `adminNetworkPolicies` and `baselineAdminNetworkPolicies` (policy.networking.k8s.io/v1alpha1), the same step\n' +
    'evaluates them as KEP-2091 orders: the ANPs selecting the pod by `priority` (lower first), rules in order, where\n' +
    'Allow and Deny are final (`decidedBy`: kind, name, priority, rule index and name, action, peer, port) and Pass\n' +
    'hands the connection to NetworkPolicy (`passedBy`); then NetworkPolicy; then, for a pod that no NetworkPolicy\n' +
    'isolates for the direction, the BANP (`decidedBy`); then the default, allow. When an admin rule denies, the Allow\n' +
    'or Pass rule evaluated before it that came closest is named (`closestAdmin`) with what it does not match (`unmet`).\n' +
    '\n' +
    '**Data paths.** A cluster document is compiled to what its CNI programs: bridge (host-gw or cloud routes),\n' +
    'flannel (host-gw or vxlan, directRouting), calico (bgp, ipip or vxlan, crossSubnet), cilium (native or tunnel\n' +
    'routing, vxlan or geneve) and weave; a fabric document is traced as it is. A tunnel shows as an `ENCAPSULATE`\n' +
    'step (`outer`: src, dst, protocol `udp` or `ipip`, `vni`, `port`, `ttl`; `overhead` in bytes; `via`: `fdb`,\n' +
    '`ipcache` or `gateway`), the hops of the outer packet (their `ROUTE` steps carry the outer `dst`), and a\n' +
    '`DECAPSULATE` step where the far end\'s tunnel link takes it; Cilium\'s tunnel decision is a `ROUTE` with\n' +
    '`table: bpf`.\n' +
    '\n' +
    '**Dispositions.** `disposition` says how the packet\'s journey ends:\n' +
    '\n' +
    '- `DELIVERED`: it reaches a namespace that owns the destination address.\n' +
    '- `EXITS_NETWORK`: it is handed to a next hop outside the model (an `external` address on a segment, such as the\n' +
    '  upstream router of the node network): the trace ends at the edge of the topology.\n' +
    '- `NO_ROUTE`: a namespace has no route that contains the destination and no default route (Network is\n' +
    '  unreachable).\n' +
    '- `BLACKHOLED`: the matching route is a `blackhole` route; the packet is discarded silently.\n' +
    '- `UNREACHABLE`: the matching route is an `unreachable` or `prohibit` route; the packet is rejected with ICMP.\n' +
    '- `NEIGHBOR_UNREACHABLE`: ARP/ND for the next hop gets no answer: nobody on the egress link\'s layer-2 domain owns\n' +
    '  the address or answers for it (an unassigned pod IP, say), or the way to its owner crosses a link that is down.\n' +
    '- `LINK_DOWN`: the egress link has no carrier: it is down, or its veth peer is.\n' +
    '- `FORWARDING_DISABLED`: a packet that is not for the namespace arrives at one with `ip_forward` off.\n' +
    '- `LOOP`: the packet comes back to a namespace that has already forwarded it (a routing loop); the DROP step\n' +
    '  lists the `cycle`.\n' +
    '- `TTL_EXCEEDED`: forwarding would bring the TTL to 0 (ICMP time exceeded).\n' +
    '- `REJECTED`: kube-proxy rejects a packet to a Service with no usable endpoint (ICMP port unreachable, TCP reset).\n' +
    '- `DENIED`: kube-proxy drops it (Local traffic policy and no endpoint on the node, or a source outside the\n' +
    '  load balancer\'s `loadBalancerSourceRanges`), or a NetworkPolicy drops it at the source pod\'s egress or the\n' +
    '  destination pod\'s ingress (the DROP step says which: `rule` for kube-proxy, `direction` for NetworkPolicy).\n' +
    '\n' +
    '**Hops and steps.** `hops` has one entry per namespace the packet enters, in order: `netns`, its `kind` (pod,\n' +
    'node, router, host), the `node` it belongs to (a pod\'s namespace, or as a fabric document says), the link it came\n' +
    '`in` by and the link it left by (`out`), and the `steps` taken there. Every step has a `type` and (at `detail=full`,\n' +
    'the default) an `explanation`, one sentence that says why; the other members depend on the type:\n' +
    '\n' +
    '- `ORIGINATE`: the source namespace sends the packet (`src`, `dst`, `ttl`).\n' +
    '- `RECEIVE`: a namespace receives it on `link`, with the TTL it arrives with (`ttl`).\n' +
    '- `ROUTE`: the route lookup in the `main` table: the chosen `route` in `ip -j route` form (null when there is\n' +
    '  none), the other routes that contain the destination in `candidates` (at `detail=full`), each with `why` it lost, and for an\n' +
    '  ECMP route the index of the `nexthop` this path takes.\n' +
    '- `BRIDGE`: a bridge forwards the frame at layer 2 from port `from` to port `to`; `from` is null when the\n' +
    '  namespace itself sends through the bridge, `to` is null when the frame goes up to the namespace\'s own IP stack.\n' +
    '- `TRANSMIT`: the packet leaves by `link` to the next hop `neighbor`; `answeredBy` is the `netns` and `link` that\n' +
    '  answer ARP/ND for it, or `{external: true}` for a host outside the model.\n' +
    '- `DELIVER`: the destination `address` is the namespace\'s own, on `link`.\n' +
    '- `DNAT`: kube-proxy\'s rules in a node (the source\'s node for a pod or the node itself, the node the packet enters\n' +
    '  otherwise) match a Service: its `frontend` (clusterIP, externalIP, loadBalancer, nodePort), its endpoints counted\n' +
    '  in `endpoints` (by `why`) and up to 32 of them in `candidates` (with `detail=full`: the one this path takes, the\n' +
    '  first of each kind, then in order) with whether each is one and `why` (ready, serving-terminating, not-ready,\n' +
    '  terminating-while-others-ready, remote), the `chain` (cluster\n' +
    '  or local policy) and `route` (the short-circuit of pod and node traffic under Local policy), the `masquerade` mark,\n' +
    '  and `to`, the endpoint this path takes. Every candidate is a path of its own (as ECMP branches are); `endpoint=`\n' +
    '  picks one. A `verdict` other than `dnat` ends the trace REJECTED or DENIED.\n' +
    '- `SNAT`: a packet kube-proxy marked is masqueraded as it leaves that node: `from`, `to`, `reason`.\n' +
    '- `POLICY`: NetworkPolicy\'s verdict at a pod\'s edge (see NetworkPolicy above).\n' +
    '- `DROP`: the last step of every journey that does not end DELIVERED, `EXITS_NETWORK` included, with its\n' +
    '  `disposition`; NEIGHBOR_UNREACHABLE adds `link`, `neighbor` and, when a down link is in the way, `blockedAt`;\n' +
    '  LINK_DOWN adds `link`; LOOP adds `cycle`; REJECTED and DENIED by kube-proxy add `service` and `rule`.\n' +
    '\n' +
    '`summary` says it all in one line. `notes` lists the routes of the namespaces on the way that the kernel would\n' +
    'refuse or has removed (a gateway no connected route reaches, a device that is down), which the trace therefore\n' +
    'ignores; and why a packet to a Service address was not translated (a port the Service does not have, ICMP, an\n' +
    'address of the cluster\'s `serviceCIDRs` that no Service holds).\n' +
    '\n' +
    '**ECMP.** When a route with several next hops splits the flow, every path is traced (at most 64) and `pathCount`\n' +
    'counts them; `paths` lists the first of them (16, or as many as the `paths` parameter asks, up to 64), each with\n' +
    'its `disposition` and the next hop it takes at each ECMP route in `choices`, the path through the first next hop\n' +
    'of every route first, and `pathsOmitted` says how many the list leaves out. `disposition`, `hops` and `summary`\n' +
    'are those of the worst path of them all, listed or not (DELIVERED is best, then EXITS_NETWORK, then the drops),\n' +
    'and the summary says how many of the paths deliver. `ecmp` then says which path\n' +
    'Linux\'s hash-threshold selection would give this flow (`path`, its index among the paths traced, and the next hop taken at\n' +
    'each ECMP route in `decisions`): under hash policy `l3` (`fib_multipath_hash_policy=0`, the default: source and\n' +
    'destination addresses), or `l4` (policy 1: addresses, protocol and ports) when `protocol`, `srcPort` and\n' +
    '`dstPort` are all given. The kernel keys that hash with a secret drawn at boot, so the service hashes with a\n' +
    'fixed stand-in: `model` is always true, and the answer shows how flows split by weight, not the branch a real\n' +
    'node would pick for this very flow.\n' +
    '\n' +
    '**MTU.** `mtu` gives the smallest MTU the packet meets on the path (`smallest`, at `link` of `netns`): over every\n' +
    'link it leaves a namespace by, the link\'s MTU less the outer headers of the tunnels it is in there. Every entry of\n' +
    '`paths` has its own. With `size`, it adds `size`, `fits` and an `explanation` (with DF set, as TCP and\n' +
    '`ping -M do` send, a router drops a packet that does not fit and answers ICMP fragmentation needed; without DF it\n' +
    'fragments it; IPv6 routers never fragment). `mtu` is absent when the packet leaves by no link.\n' +
    '\n' +
    '**Detail.** `detail=hops` leaves the prose out: no `explanation` (of a step or of `mtu`), no `candidates`.\n' +
    '`detail=summary` answers the flow, its ends, the `disposition`, the `summary` line and `pathCount` only. Less\n' +
    'detail is a smaller answer and a faster one: what is left out is not made. An answer larger than the service\'s\n' +
    'limit (`MAX_ANSWER_BYTES`, 32 MiB unless configured) is answered 422\n' +
    '`urn:pathtrace:problem:answer-too-large`. Both parameters shape the JSON answer; the other formats are drawn\n' +
    'from the full answer, with every path.\n',
  response: {
    200: {
      description: 'The trace: the flow, both ends as resolved, how the journey ends and why, hop by hop. A packet that is dropped\n' +
        'is still a 200: the `disposition` says so.\n',
      content: {
        'application/json': {
          schema: TraceAnswer,
          examples: {
            delivered: { $ref: '#/components/examples/TwoNodesTraceDelivered' },
            neighborUnreachable: { $ref: '#/components/examples/TwoNodesTraceNeighborUnreachable' },
          },
        },
        'text/plain': {
          schema: { type: 'string' },
          example: 'DELIVERED: default/pod-a1 (10.1.1.2) → default/pod-b1 (10.1.2.2) via default/pod-a1 → node-a → node-b → default/pod-b1\n' +
            '1.  default/pod-a1  - → eth0             default via 10.1.1.1 dev eth0 is the only route that contains 10.1.2.2\n' +
            '2.  node-a          veth6e99ad5f → eth0  10.1.2.0/24 via 192.168.0.12 dev eth0 is the longest prefix that contains 10.1.2.2\n' +
            '3.  node-b          eth0 → cbr0          10.1.2.0/24 dev cbr0 is the longest prefix that contains 10.1.2.2\n' +
            '4.  default/pod-b1  eth0 → -             ✓ 10.1.2.2 is an address of default/pod-b1 (on eth0): the packet is delivered locally\n',
        },
        'text/markdown': {
          schema: { type: 'string' },
          example: '❌ **NEIGHBOR_UNREACHABLE** — default/pod-a1 (10.1.1.2) → 10.1.2.99 via default/pod-a1 → node-a → node-b: …\n' +
            '\n' +
            '| # | netns | in → out | decision |\n' +
            '|---|---|---|---|\n' +
            '| 1 | `default/pod-a1` | – → eth0 | ROUTE: default via 10.1.1.1 dev eth0 is the only route that contains 10.1.2.99 |\n' +
            '| 2 | `node-a` | veth6e99ad5f → eth0 | ROUTE: 10.1.2.0/24 via 192.168.0.12 dev eth0 is the longest prefix that contains 10.1.2.99 |\n' +
            '| 3 | `node-b` | eth0 → cbr0 | DROP: nobody on cbr0\'s layer-2 domain owns 10.1.2.99 or answers ARP for it: the neighbour is unreachable |\n',
        },
        'text/vnd.mermaid': {
          schema: { type: 'string' },
          example: 'flowchart LR\n' +
            '  subgraph g0["node-a"]\n' +
            '    h0["default/pod-a1<br/>route default"]\n' +
            '    h1["node-a<br/>route 10.1.2.0/24"]\n' +
            '  end\n' +
            '  subgraph g1["node-b"]\n' +
            '    h2["node-b<br/>drop"]\n' +
            '  end\n' +
            '  h0 -- "eth0 → veth6e99ad5f" --> h1\n' +
            '  h1 -- "eth0 → eth0" --> h2\n' +
            '  h2 --- result(["NEIGHBOR_UNREACHABLE"])\n',
        },
        'image/svg+xml': {
          schema: { type: 'string', description: 'A self-contained SVG diagram (no scripts, fonts or images from elsewhere).' },
          example: '<svg xmlns="http://www.w3.org/2000/svg" width="1020" height="312" viewBox="0 0 1020 312" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">\n' +
            '<title>NEIGHBOR_UNREACHABLE at node-b: …</title>\n' +
            '…\n' +
            '<rect x="576" y="94" width="200" height="64" rx="6" fill="#fde0dc" stroke="#c62828" stroke-width="2.5"/>\n' +
            '<text x="586" y="116" font-size="13" font-weight="bold" fill="#263238">node-b</text>\n' +
            '…\n' +
            '</svg>\n',
        },
      },
    },
    400: problemResponse(
      'The request is not valid: a path or query parameter does not match its schema (`errors[].parameter`), `port`\n' +
        'is given without `protocol=tcp`, `udp` or `sctp`, or names a port the destination pod does not have, `from` is an address that no pod, node or netns of the topology has,\n' +
        'the two ends have no address family in common, or a bare pod name names several pods\n' +
        '(`urn:pathtrace:problem:ambiguous-endpoint`, with the pods in `candidates`).\n',
      { examples: {
        query: {
          summary: 'A required query parameter is missing',
          value: {
            type: 'urn:pathtrace:problem:invalid-request',
            title: 'The request is not valid',
            status: 400,
            detail: 'the querystring is not valid (to: is required)',
            instance: '/v1/topologies/two-nodes/trace?from=pod-a1',
            errors: [{ parameter: 'to', detail: 'is required' }],
          },
        },
        ambiguous: {
          summary: 'A bare pod name that two namespaces use (here after staging/pod-b1 was added)',
          value: {
            type: 'urn:pathtrace:problem:ambiguous-endpoint',
            title: 'The endpoint name is ambiguous',
            status: 400,
            detail: 'pod-b1 names 2 pods; say which with namespace/name',
            instance: '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1',
            errors: [{ parameter: 'to', detail: 'pod-b1 names 2 pods; say which with namespace/name' }],
            candidates: ['default/pod-b1', 'staging/pod-b1'],
          },
        },
        outsideSource: {
          summary: 'The source address is not in the topology',
          value: {
            type: 'urn:pathtrace:problem:invalid-request',
            title: 'The request is not valid',
            status: 400,
            detail: '10.9.9.9 is not an address of any pod, node or netns in this topology',
            instance: '/v1/topologies/two-nodes/trace?from=10.9.9.9&to=pod-b1',
            errors: [
              {
                parameter: 'from',
                detail: '10.9.9.9 is not an address of any pod, node or netns in this topology',
              },
            ],
          },
        },
        addressFamily: {
          summary: 'The two ends have no address family in common',
          value: {
            type: 'urn:pathtrace:problem:invalid-request',
            title: 'The request is not valid',
            status: 400,
            detail: 'default/pod-a1 has IPv4 and fd00::1 has IPv6: there is no address family to trace in',
            instance: '/v1/topologies/two-nodes/trace?from=pod-a1&to=fd00::1',
            errors: [
              {
                parameter: 'to',
                detail: 'default/pod-a1 has IPv4 and fd00::1 has IPv6: there is no address family to trace in',
              },
            ],
          },
        },
        portWithoutProtocol: {
          summary: 'A port with protocol=icmp (the default)',
          value: {
            type: 'urn:pathtrace:problem:invalid-request',
            title: 'The request is not valid',
            status: 400,
            detail: 'port goes with protocol=tcp, udp or sctp',
            instance: '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1&port=80',
            errors: [{ parameter: 'port', detail: 'needs protocol tcp, udp or sctp' }],
          },
        },
      } },
    ),
    404: problemResponse(
      'There is no topology with this name (`urn:pathtrace:problem:not-found`), the revision is not (or no longer)\n' +
        'kept, or `from` or `to` names no pod, node or netns of the topology (`urn:pathtrace:problem:unknown-endpoint`,\n' +
        'with the names near it in `candidates` when there are any).\n',
      { examples: {
        topology: {
          summary: 'No topology with this name',
          value: {
            type: 'urn:pathtrace:problem:not-found',
            title: 'Not found',
            status: 404,
            detail: 'there is no topology named nope',
            instance: '/v1/topologies/nope/trace?from=pod-a1&to=pod-b1',
          },
        },
        revision: {
          summary: 'The revision is not kept',
          value: {
            type: 'urn:pathtrace:problem:not-found',
            title: 'Not found',
            status: 404,
            detail: 'two-nodes has no revision 7; its newest is 1',
            instance: '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1&revision=7',
          },
        },
        unknownEndpoint: {
          summary: 'No pod, node or netns with this name; some names contain it',
          value: {
            type: 'urn:pathtrace:problem:unknown-endpoint',
            title: 'No such endpoint in the topology',
            status: 404,
            detail: 'there is no pod, node or netns named pod in this topology',
            instance: '/v1/topologies/two-nodes/trace?from=pod&to=pod-b1',
            errors: [
              {
                parameter: 'from',
                detail: 'there is no pod, node or netns named pod in this topology',
              },
            ],
            candidates: ['default/pod-a1', 'default/pod-a2', 'default/pod-b1'],
          },
        },
      } },
    ),
    422: problemResponse(
      ANSWER_TOO_LARGE,
      answerTooLargeExample(
        '/v1/topologies/ring/trace?from=r0&to=10.99.0.1&paths=64',
        'the answer would be larger than the limit of 100000 bytes (MAX_ANSWER_BYTES): this trace takes 668547 bytes; ask for less: ' +
          'detail=hops (no prose) or detail=summary (no hops), or fewer paths per trace (paths=1)',
      ),
    ),
    406: problemResponse(
      'The Accept header allows none of the formats (application/json, text/plain, text/markdown, text/vnd.mermaid, image/svg+xml).',
      {
        type: 'urn:pathtrace:problem:not-acceptable',
        title: 'Not acceptable',
        status: 406,
        detail: 'this answer is available as application/json, text/plain, text/markdown, text/vnd.mermaid, image/svg+xml; Accept: application/xml allows none of them',
        instance: '/v1/topologies/two-nodes/trace?from=pod-a1&to=pod-b1',
      },
    ),
    503: Busy,
  },
};

export default async function traceRoutes(plain: FastifyInstance, options: { maxAnswerBytes?: number }) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;

  app.get(
    '/topologies/:name/trace',
    { schema: { ...tracePacketDoc, params: TraceParams, querystring: TraceQuery } },
    async (request, reply) => {
      const { name } = request.params;
      const { format, revision: wanted, detail, paths, layout, ...flow } = request.query;
      const chosen = pickFormat(format as Format | undefined, request.headers.accept);
      reply.header('vary', 'Accept');
      // A text line or a diagram is drawn from the full answer, which counts every path the engine followed.
      const options = chosen === 'json' ? { detail, paths } : { paths: MAX_PATHS };
      // Written out in the worker: the bytes arrive ready to send, and their length is the answer's size.
      const answer = await app.work.run('answer', [{ name, revision: wanted }], { flow, options, format: chosen, layout });
      const { bytes } = answer;
      // Every format is held to the limit: a drawing of a long path is not exempt because it is not JSON.
      if (bytes > maxBytes) {
        if (chosen === 'json') throw answerTooLarge(maxBytes, `: this trace takes ${bytes} bytes`);
        throw answerTooLarge(maxBytes, `: this trace as ${chosen} takes ${bytes} bytes`, '', LESS_THAN_DRAWN);
      }
      app.metrics.traced({ [answer.disposition]: 1 });
      return sendEncoded(reply, answer);
    },
  );
}
