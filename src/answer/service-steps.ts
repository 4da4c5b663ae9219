// The DNAT and SNAT steps of a trace answer (kube-proxy's Service rules): their schemas and their sentences. steps.ts
// adds the schemas to the step union and explain.ts calls the builders.
import { Type, type Static } from '@sinclair/typebox';
import type { Addr } from '../engine/addr.js';
import type { ServiceDropRule } from '../engine/trace/model.js';
import { AGENTS } from '../engine/compile/masquerade.js';
import { MAX_LISTED_ENDPOINTS, type DnatStep as EngineDnat, type ServiceEndpoint, type ServiceRef, type SnatStep as EngineSnat } from '../engine/service/describe.js';

const explanation = Type.Optional(
  Type.String({ description: 'One sentence saying what the kernel does here, and why. Only with `detail=full` (the default).' }),
);

const WHY = ['ready', 'serving-terminating', 'not-ready', 'terminating-while-others-ready', 'remote', 'other-zone', 'other-node'] as const;

const Policy = Type.Union([Type.Literal('Cluster'), Type.Literal('Local')]);

export const AnswerService = Type.Object(
  {
    namespace: Type.String(),
    name: Type.String(),
    port: Type.Integer({ description: "The Service port (spec.ports[].port)." }),
    portName: Type.Optional(Type.String({ description: 'Its name, when it has one.' })),
    protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')]),
    nodePort: Type.Optional(Type.Integer()),
    internalTrafficPolicy: Policy,
    externalTrafficPolicy: Policy,
    sessionAffinity: Type.Optional(
      Type.Object(
        { type: Type.Literal('ClientIP'), timeoutSeconds: Type.Integer() },
        {
          additionalProperties: false,
          description:
            'sessionAffinity ClientIP: kube-proxy sends a client to the endpoint it sent it to last (while that one is a ' +
            'candidate) until `timeoutSeconds` after its last packet. Every candidate is still traced: any may be the first. ' +
            'Absent for None.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const MasqReason = Type.Union(
  ['none', 'masquerade-all', 'off-cluster', 'external-cluster-policy', 'node-source', 'hairpin'].map((r) => Type.Literal(r)),
  {
    description:
      'Why kube-proxy marks the packet for masquerade: `masquerade-all` (iptables.masqueradeAll), `off-cluster` (to a ' +
      'ClusterIP from a source outside the cluster CIDR), `external-cluster-policy` (to a NodePort, externalIP or ' +
      'load-balancer IP under externalTrafficPolicy Cluster), `node-source` (the node itself, under Local policy), ' +
      '`hairpin` (the endpoint is the client itself); `none`.',
  },
);

export const DnatStep = Type.Object(
  {
    type: Type.Literal('DNAT'),
    explanation,
    mode: Type.Union([Type.Literal('iptables'), Type.Literal('nftables'), Type.Literal('ipvs'), Type.Literal('cilium')], {
      description:
        "kube-proxy's mode; `cilium` where Cilium's kube-proxy replacement (cilium-config kube-proxy-replacement true or strict) " +
        "translates the cluster's Services in its BPF programs instead (the answer's notes say where).",
    }),
    service: AnswerService,
    frontend: Type.Union(['clusterIP', 'externalIP', 'loadBalancer', 'nodePort'].map((f) => Type.Literal(f)), {
      description: 'How the packet met the Service.',
    }),
    matched: Type.String({ description: 'The destination address and port the rule matched.' }),
    verdict: Type.Union(['dnat', 'reject', 'no-local-endpoints', 'source-range'].map((v) => Type.Literal(v)), {
      description:
        '`dnat`: sent to an endpoint; `reject`: no usable endpoint (REJECTED); `no-local-endpoints`: Local policy and none ' +
        'on this node (DENIED); `source-range`: the source is outside loadBalancerSourceRanges (DENIED).',
    }),
    chain: Type.Optional(Type.Union([Type.Literal('cluster'), Type.Literal('local')], { description: 'The policy chain: every usable endpoint, or this node\'s.' })),
    route: Type.Union(['policy', 'pod-short-circuit', 'node-short-circuit'].map((r) => Type.Literal(r)), {
      description:
        'Why the chain: the traffic policy, or under externalTrafficPolicy Local the short-circuit of traffic from a pod ' +
        'or from the node itself to every endpoint.',
    }),
    masquerade: MasqReason,
    zone: Type.Optional(
      Type.String({
        description:
          "Topology-aware routing: the node's topology.kubernetes.io/zone, when every ready endpoint has a zone hint and one is " +
          "for it; the cluster chain then holds only the endpoints hinted for it (the others' `why` is `other-zone`).",
      }),
    ),
    sameNode: Type.Optional(
      Type.Literal(true, {
        description:
          'trafficDistribution PreferSameNode: every ready endpoint has a node hint and one is for this node; the cluster ' +
          "chain then holds only the endpoints hinted for it (the others' `why` is `other-node`). Asked before `zone`.",
      }),
    ),
    endpoints: Type.Object(
      {
        total: Type.Integer({ description: 'Every endpoint of the Service port.' }),
        candidates: Type.Integer({ description: 'How many of them kube-proxy may send the packet to here.' }),
        byEligibility: Type.Object(
          Object.fromEntries(WHY.map((w) => [w, Type.Optional(Type.Integer({ minimum: 1 }))])),
          { additionalProperties: false, description: 'How many endpoints have each `why`.' },
        ),
        omitted: Type.Integer({ description: `How many endpoints \`candidates\` leaves out (it lists at most ${MAX_LISTED_ENDPOINTS}).` }),
      },
      { additionalProperties: false, description: 'The endpoints counted: all of them, however many `candidates` lists.' },
    ),
    candidates: Type.Optional(Type.Array(
      Type.Object(
        {
          address: Type.String(),
          port: Type.Integer(),
          node: Type.Optional(Type.String({ description: "The endpoint's nodeName; absent: remote from every node." })),
          ready: Type.Boolean(),
          serving: Type.Boolean(),
          terminating: Type.Boolean(),
          local: Type.Boolean({ description: 'On the node whose rules decide.' }),
          candidate: Type.Boolean({ description: 'Whether kube-proxy may send the packet to it here.' }),
          why: Type.Union(WHY.map((w) => Type.Literal(w))),
        },
        { additionalProperties: false },
      ),
      {
        maxItems: MAX_LISTED_ENDPOINTS,
        description:
          `The endpoints of the Service port, with whether each is a candidate and why: at most ${MAX_LISTED_ENDPOINTS} (the one ` +
          'this path takes, the first of each `why`, then the others in order; `endpoints` counts them all). Only with `detail=full`.',
      },
    )),
    endpoint: Type.Optional(Type.Integer({ description: 'The index in `candidates` of the endpoint this path takes. Only with `detail=full`.' })),
    to: Type.Optional(Type.String({ description: 'The destination after DNAT, address and port.' })),
  },
  { additionalProperties: false, description: "kube-proxy's rules for a Service in the node: DNAT to an endpoint, or REJECT or DROP." },
);

export const SnatStep = Type.Object(
  {
    type: Type.Literal('SNAT'),
    explanation,
    link: Type.String(),
    from: Type.String(),
    to: Type.String({ description: "The source after masquerade: the address the route out of `link` gives (or the rule's --to-source)." }),
    reason: Type.Union([...MasqReason.anyOf, Type.Literal('egress')], {
      description: `${MasqReason.description} \`egress\`: the data path's masquerade of a packet leaving the node for outside the pod network (see \`agent\`).`,
    }),
    agent: Type.Optional(
      Type.Union(AGENTS.map((a) => Type.Literal(a)), { description: 'For `egress`: who wrote the rule (the CNI plugin, or ip-masq-agent).' }),
    ),
    rule: Type.Optional(Type.String({ description: 'For `egress`: the nat rule that matched, as its agent writes it.' })),
  },
  {
    additionalProperties: false,
    description:
      "The packet is masqueraded as it leaves the node: kube-proxy's (KUBE-POSTROUTING) of a packet it marked, or the data " +
      "path's egress masquerade of a pod's packet leaving for outside the pod network (flannel --ip-masq, Calico natOutgoing, " +
      "Cilium, kindnet, ip-masq-agent, the AWS VPC CNI's SNAT).",
  },
);

const Rewrite = Type.Object({ from: Type.String(), to: Type.String() }, { additionalProperties: false });

export const UnnatStep = Type.Object(
  {
    type: Type.Literal('UNNAT'),
    explanation,
    service: Type.Optional(Type.Object(AnswerService.properties, { additionalProperties: false, description: 'The Service of a DNATed request; absent for the egress masquerade alone.' })),
    src: Type.Optional(
      Type.Object(
        { from: Type.String(), to: Type.String() },
        { additionalProperties: false, description: "The reply's source, from the endpoint back to the Service address and port the client sent to (with `service`)." },
      ),
    ),
    dst: Type.Optional(
      Type.Object(Rewrite.properties, {
        additionalProperties: false,
        description: "When the request was masqueraded: the reply's destination, from the masquerade address back to the client.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "In a reply (a bidirectional batch's `return`): conntrack reverses kube-proxy's DNAT (and masquerade) in the node that made them, " +
      'so that the client sees the answer come from the Service address; or, for a request the data path masqueraded on ' +
      'its way out of the cluster (an `egress` SNAT), the reply to the node\'s address back to the pod.',
  },
);

const hostPort = (a: { address: { family: number; toString(): string }; port: number }) =>
  a.address.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;

export const serviceName = (s: ServiceRef) => `${s.namespace}/${s.name}${s.portName ? `:${s.portName}` : ''}`;

/** The Service port a step or a drop is about, as the answer names it. */
export function serviceJson(s: ServiceRef) {
  return {
    namespace: s.namespace,
    name: s.name,
    port: s.port,
    ...(s.portName ? { portName: s.portName } : {}),
    protocol: s.protocol,
    ...(s.nodePort !== undefined ? { nodePort: s.nodePort } : {}),
    internalTrafficPolicy: s.internalTrafficPolicy,
    externalTrafficPolicy: s.externalTrafficPolicy,
    ...(s.affinitySeconds !== undefined ? { sessionAffinity: { type: 'ClientIP' as const, timeoutSeconds: s.affinitySeconds } } : {}),
  };
}

export function dnatJson(step: EngineDnat, nsName: string, prose: boolean): Static<typeof DnatStep> {
  return {
    type: 'DNAT',
    mode: step.mode,
    service: serviceJson(step.service),
    frontend: step.frontend,
    matched: hostPort(step.matched),
    verdict: step.verdict,
    ...(step.chain !== undefined ? { chain: step.chain } : {}),
    route: step.route,
    masquerade: step.masquerade,
    ...(step.zone !== undefined ? { zone: step.zone } : {}),
    ...(step.sameNode ? { sameNode: true as const } : {}),
    endpoints: { total: step.counts.total, candidates: step.counts.candidates, byEligibility: { ...step.counts.byEligibility }, omitted: step.counts.omitted },
    // The list is for a person reading one step: `detail=hops` keeps the counts and `to`, not the list.
    ...(prose
      ? {
          candidates: step.candidates.map((c) => ({
            address: c.address.toString(),
            port: c.port,
            ...(c.nodeName !== undefined ? { node: c.nodeName } : {}),
            ready: c.ready,
            serving: c.serving,
            terminating: c.terminating,
            local: c.local,
            candidate: c.candidate,
            why: c.why,
          })),
          ...(step.endpoint !== undefined ? { endpoint: step.endpoint } : {}),
        }
      : {}),
    ...(step.to !== undefined ? { to: hostPort(step.to) } : {}),
    ...(prose ? { explanation: dnatText(step, nsName) } : {}),
  };
}

const FRONTEND_TEXT = { clusterIP: 'ClusterIP', externalIP: 'externalIP', loadBalancer: 'load-balancer IP', nodePort: 'NodePort' } as const;

function dnatText(step: EngineDnat, nsName: string): string {
  const s = step.service;
  const met = `${hostPort(step.matched)} is the ${FRONTEND_TEXT[step.frontend]} of ${serviceName(s)} (${s.protocol})`;
  const usable = step.counts.candidates;
  // Under Cilium's kube-proxy replacement its BPF programs decide by the same rules; the sentence names who does.
  const proxy = step.mode === 'cilium' ? "Cilium's kube-proxy replacement" : 'kube-proxy';
  switch (step.verdict) {
    case 'reject':
      return `${met}, which has no ready (or serving and terminating) endpoint: ${proxy} in ${nsName} rejects the packet (ICMP port unreachable / TCP reset)`;
    case 'source-range':
      return `${met}; the source is outside its loadBalancerSourceRanges: KUBE-PROXY-FIREWALL in ${nsName} drops the packet`;
    case 'no-local-endpoints': {
      const policy = step.frontend === 'clusterIP' ? 'internalTrafficPolicy' : 'externalTrafficPolicy';
      return `${met}; its ${policy} is Local and ${nsName} has no usable endpoint of it: ${proxy} drops the packet`;
    }
    case 'dnat': {
      const why =
        step.route === 'pod-short-circuit'
          ? 'externalTrafficPolicy is Local, but traffic from a pod goes to every endpoint'
          : step.route === 'node-short-circuit'
            ? 'externalTrafficPolicy is Local, but traffic the node sends itself goes to every endpoint'
            : step.chain === 'local'
              ? `its ${step.frontend === 'clusterIP' ? 'internal' : 'external'}TrafficPolicy is Local: only endpoints on ${nsName}`
              : step.sameNode
                ? `trafficDistribution PreferSameNode: the endpoints hinted for ${nsName}`
                : step.zone !== undefined
                  ? `topology-aware routing: the endpoints hinted for ${step.zone}, ${nsName}'s zone`
                  : 'every usable endpoint in the cluster';
      const fallback = step.counts.byEligibility['serving-terminating'] ? ' (no endpoint is ready, so the serving terminating ones)' : '';
      const chosen = step.endpoint !== undefined ? step.candidates[step.endpoint]! : undefined;
      // Affinity decides which endpoint a client's later connections take, not which it may take first: every one is traced.
      const affinity =
        s.affinitySeconds !== undefined && usable > 1
          ? `; sessionAffinity ClientIP: ${proxy} keeps sending this client to the endpoint it took first, for ${s.affinitySeconds} s after its last packet`
          : '';
      return (
        `${met}: ${proxy} in ${nsName} DNATs it to one of ${usable} endpoint${usable === 1 ? '' : 's'}${fallback}${others(step)} ` +
        `(${why}); this path takes ${chosen ? endpointText(chosen) : 'none'}${affinity}`
      );
    }
  }
}

const WHY_TEXT = {
  'not-ready': 'not ready',
  'terminating-while-others-ready': 'terminating while others are ready',
  remote: 'on other nodes',
  'other-zone': 'hinted for other zones',
  'other-node': 'hinted for other nodes',
} as const;

/** The endpoints that are not candidates, counted by why: " of 10000 (500 not ready, 500 terminating while …)". */
function others(step: EngineDnat): string {
  const { total, candidates, byEligibility } = step.counts;
  if (total === candidates) return '';
  const parts = (Object.keys(WHY_TEXT) as (keyof typeof WHY_TEXT)[]).filter((w) => byEligibility[w]).map((w) => `${byEligibility[w]} ${WHY_TEXT[w]}`);
  return ` of ${total} (${parts.join(', ')})`;
}

function endpointText(c: ServiceEndpoint): string {
  return `${hostPort(c)}${c.nodeName !== undefined ? ` on ${c.nodeName}` : ''}`;
}

const MASQ_TEXT = {
  none: '',
  'masquerade-all': 'kube-proxy masquerades all traffic to ClusterIPs (masqueradeAll)',
  'off-cluster': 'the packet came to a ClusterIP from outside the cluster CIDR, and its reply must come back through this node',
  'external-cluster-policy': 'external traffic under externalTrafficPolicy Cluster may go to another node, and its reply must come back through this one',
  'node-source': 'the node itself sent it to a Service address it holds, under externalTrafficPolicy Local',
  hairpin: 'the endpoint is the client itself (hairpin): without SNAT it would answer itself directly',
} as const;

export function snatJson(step: EngineSnat, prose: boolean): Static<typeof SnatStep> {
  const egress = step.egress;
  const why = step.reason === 'egress' ? egress!.why : MASQ_TEXT[step.reason];
  return {
    type: 'SNAT',
    link: step.link.name,
    from: step.from.toString(),
    to: step.to.toString(),
    reason: step.reason,
    ...(egress !== undefined ? { agent: egress.agent, rule: egress.rule } : {}),
    ...(prose ? { explanation: `the packet leaves by ${step.link.name} masqueraded from ${step.from} to ${step.to}: ${why}` } : {}),
  };
}

export function serviceDropText(d: { service: ServiceRef | undefined; rule: ServiceDropRule; dst: Addr; port: number | undefined; by: 'kube-proxy' | 'cilium' }): string {
  if (d.rule === 'unallocated-cluster-ip' || d.service === undefined) {
    return `kube-proxy (nftables mode) drops the packet: ${d.dst} is in the service CIDR and no Service holds it (cluster-ips-check)`;
  }
  const name = serviceName(d.service);
  const proxy = d.by === 'cilium' ? "Cilium's kube-proxy replacement" : 'kube-proxy';
  switch (d.rule) {
    case 'cluster-ip-port':
      return `kube-proxy (nftables mode) rejects the packet: ${d.dst} is the ClusterIP of ${d.service.namespace}/${d.service.name}, which has no port ${d.port ?? '(none given)'} for it (cluster-ips-check; the client gets ICMP port unreachable)`;
    case 'reject':
      return `${proxy} rejects the packet: ${name} has no usable endpoint (the client gets ICMP port unreachable, or a TCP reset)`;
    case 'no-local-endpoints':
      return `${proxy} drops the packet: ${name} has Local traffic policy and no usable endpoint on this node`;
    case 'source-range':
      return `${proxy} drops the packet: its source is outside ${name}'s loadBalancerSourceRanges`;
  }
}
