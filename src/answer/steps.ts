// The steps of a hop in a trace answer, one schema per step type, so that a client generated from openapi.yaml sees every
// field a step carries. explain.ts builds them typed by these schemas, so a field missing here is a compile error there,
// not a field the documentation leaves out. The prose (`explanation`, a ROUTE's `candidates`) is in the answer
// only at `detail=full`: the schemas make it optional, and the AnswerStep type, what a full answer holds, requires it.
import { Type, type Static } from '@sinclair/typebox';
import { DISPOSITIONS } from '../engine/trace.js';
import { PolicyStepSchema } from './policy.js';
import { AnswerService, DnatStep, SnatStep, UnnatStep } from './service-steps.js';

export const Disposition = Type.Union(DISPOSITIONS.map((d) => Type.Literal(d)));

const explanation = Type.Optional(
  Type.String({ description: 'One sentence saying what the kernel does here, and why. Only with `detail=full` (the default).' }),
);
const Ttl = Type.Integer({ minimum: 0, maximum: 255 });

/** A route as `ip -j route` prints it (the fields it leaves out are the defaults: unicast, metric 0, scope global). */
export const AnswerRoute = Type.Object(
  {
    type: Type.Optional(Type.Union([Type.Literal('blackhole'), Type.Literal('unreachable'), Type.Literal('prohibit')])),
    dst: Type.String({ description: '"default", a prefix, or a bare address (a host route).' }),
    gateway: Type.Optional(Type.String()),
    dev: Type.Optional(Type.String()),
    protocol: Type.Optional(Type.String()),
    scope: Type.Optional(Type.Union([Type.Literal('link'), Type.Literal('host')])),
    prefsrc: Type.Optional(Type.String()),
    metric: Type.Optional(Type.Integer()),
    flags: Type.Optional(Type.Array(Type.Literal('onlink'))),
    nexthops: Type.Optional(
      Type.Array(
        Type.Object({
          gateway: Type.Optional(Type.String()),
          dev: Type.String(),
          weight: Type.Integer(),
          flags: Type.Optional(Type.Array(Type.Literal('onlink'))),
        }),
        { description: 'The next hops of an ECMP route, with their weights.' },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The headers a tunnel link puts around the packet. */
export const OuterHeader = Type.Object(
  {
    src: Type.String(),
    dst: Type.String(),
    protocol: Type.Union([Type.Literal('udp'), Type.Literal('ipip')]),
    vni: Type.Optional(Type.Integer({ description: 'VXLAN and Geneve only.' })),
    port: Type.Optional(Type.Integer({ description: 'The UDP destination port; VXLAN and Geneve only.' })),
    ttl: Ttl,
  },
  { additionalProperties: false },
);

const step = <T extends string, P extends Parameters<typeof Type.Object>[0]>(type: T, description: string, properties: P) =>
  Type.Object({ type: Type.Literal(type), explanation, ...properties }, { additionalProperties: false, description });

export const OriginateStep = step('ORIGINATE', 'The packet leaves its source.', { src: Type.String(), dst: Type.String(), ttl: Ttl });

export const ReceiveStep = step('RECEIVE', 'The packet enters the netns.', { link: Type.String(), ttl: Ttl });

export const RouteStep = step('ROUTE', "The route lookup in the netns's main table (or Cilium's BPF program standing for it).", {
  dst: Type.Optional(Type.String({ description: 'Inside a tunnel: the outer destination the lookup was for; after a DNAT, the endpoint.' })),
  table: Type.Union([Type.Literal('main'), Type.Literal('bpf')]),
  route: Type.Union([AnswerRoute, Type.Null()], { description: 'The route that matched; null when none did.' }),
  nexthop: Type.Optional(Type.Integer({ description: 'With an ECMP route: the index of the next hop this path takes.' })),
  candidates: Type.Optional(
    Type.Array(
      Type.Object({ route: AnswerRoute, why: Type.String({ description: 'Why it lost to the route that matched.' }) }, { additionalProperties: false }),
      { description: 'The other routes that contain the destination. Only with `detail=full` (the default).' },
    ),
  ),
});

export const EncapsulateStep = step('ENCAPSULATE', 'A tunnel link wraps the packet in outer headers, which are routed again.', {
  link: Type.String(),
  via: Type.Union([Type.Literal('fdb'), Type.Literal('ipcache'), Type.Literal('gateway')], {
    description: "How the tunnel found the far end: the neighbour entry and the FDB (VXLAN), Cilium's ipcache, or the route's gateway (IP-in-IP).",
  }),
  neighbor: Type.Optional(Type.String({ description: 'With via fdb: the next hop whose permanent neighbour entry gave the MAC.' })),
  lladdr: Type.Optional(Type.String({ description: "With via fdb: that neighbour's MAC." })),
  outer: OuterHeader,
  overhead: Type.Integer({ description: 'The bytes the outer headers add.' }),
});

export const DecapsulateStep = step('DECAPSULATE', 'A tunnel link takes the outer packet and the inner one goes on.', {
  link: Type.String(),
  outer: OuterHeader,
});

export const BridgeStep = step('BRIDGE', 'A bridge forwards the frame at layer 2.', {
  bridge: Type.String(),
  from: Type.Union([Type.String(), Type.Null()], { description: 'The port the frame came in by; null when the netns itself sent it.' }),
  to: Type.Union([Type.String(), Type.Null()], { description: "The port it goes out of; null when it goes up to the netns's own IP stack." }),
});

export const TransmitStep = step('TRANSMIT', 'The packet leaves by a link, to a next hop that answers for its address.', {
  link: Type.String(),
  neighbor: Type.String({ description: 'The next hop: the gateway, or the destination itself.' }),
  answeredBy: Type.Union(
    [
      Type.Object({ netns: Type.String(), link: Type.String() }, { additionalProperties: false }),
      Type.Object({ external: Type.Literal(true) }, { additionalProperties: false }),
    ],
    { description: 'Who answers ARP (Neighbour Solicitation) for the next hop: a link of a netns, or a host outside the model.' },
  ),
});

export const DeliverStep = step('DELIVER', "The packet is for one of the netns's own addresses.", { link: Type.String(), address: Type.String() });

export const DropStep = step('DROP', 'The packet goes no further.', {
  disposition: Disposition,
  cycle: Type.Optional(Type.Array(Type.String(), { description: 'LOOP: the netns the packet goes round, in order.' })),
  link: Type.Optional(Type.String({ description: 'The link the packet could not leave (or enter) by.' })),
  neighbor: Type.Optional(Type.String({ description: 'The next hop that could not be reached.' })),
  blockedAt: Type.Optional(Type.String({ description: 'The link that is down on the way to the neighbour.' })),
  outer: Type.Optional(OuterHeader),
  direction: Type.Optional(Type.Union([Type.Literal('ingress'), Type.Literal('egress')], { description: 'DENIED by NetworkPolicy: which direction denied it.' })),
  service: Type.Optional(Type.Unsafe<Static<typeof AnswerService>>(AnswerService)),
  rule: Type.Optional(
    Type.Union(['reject', 'no-local-endpoints', 'source-range', 'cluster-ip-port', 'unallocated-cluster-ip'].map((r) => Type.Literal(r)), {
      description:
        "REJECTED or DENIED by kube-proxy: the rule (see the DNAT step's `verdict`); in its nftables mode also " +
        '`cluster-ip-port` (REJECTED: a port the ClusterIP does not serve) and `unallocated-cluster-ip` (DENIED: an ' +
        'address of the service CIDR that no Service holds), where the node forwards or sends the packet.',
    }),
  ),
});

export const PolicyStep = PolicyStepSchema;

export const AnswerStep = Type.Union([
  OriginateStep,
  ReceiveStep,
  RouteStep,
  EncapsulateStep,
  DecapsulateStep,
  BridgeStep,
  TransmitStep,
  DeliverStep,
  DnatStep,
  SnatStep,
  UnnatStep,
  PolicyStep,
  DropStep,
]);

/** A step at any detail, as the schema says. */
export type BareStep = Static<typeof AnswerStep>;
/** A step of a full answer: with its explanation, and a ROUTE with the routes it beat. */
export type AnswerStep = BareStep extends infer S
  ? S extends { type: 'ROUTE' }
    ? S & { explanation: string; candidates: NonNullable<Static<typeof RouteStep>['candidates']> }
    : S & { explanation: string }
  : never;
export type AnswerRoute = Static<typeof AnswerRoute>;
