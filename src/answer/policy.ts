// The POLICY step of a trace answer: its schema, and the step and sentence built from the engine's PolicyStep.
import { Type, type Static } from '@sinclair/typebox';
import type { PolicyRuleRef, PolicyStep as EnginePolicyStep } from '../engine/trace.js';

const PolicyRef = Type.Object({ namespace: Type.String(), name: Type.String() }, { additionalProperties: false });
const RuleRef = {
  policy: PolicyRef,
  rule: Type.Integer({ description: "The rule's index in the policy's ingress or egress list." }),
  peer: Type.Optional(Type.String({ description: 'The peer of the rule that matched (absent: the rule has no peers, so every peer matches).' })),
  peerIndex: Type.Optional(Type.Integer()),
  port: Type.Optional(Type.String({ description: 'The port entry that matched (absent: the rule has no ports, so every port matches).' })),
  portIndex: Type.Optional(Type.Integer()),
};

export const PolicyStepSchema = Type.Object(
  {
    type: Type.Literal('POLICY'),
    explanation: Type.Optional(Type.String({ description: 'One sentence saying what the kernel does here, and why. Only with `detail=full` (the default).' })),
    direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
    verdict: Type.Union([Type.Literal('ALLOWED'), Type.Literal('DENIED'), Type.Literal('NOT_ISOLATED'), Type.Literal('FROM_NODE')], {
      description:
        'NOT_ISOLATED: no NetworkPolicy selects the pod for this direction, so everything passes. FROM_NODE: the pod is ' +
        'isolated, but the packet comes from its own node, which a pod cannot block (as Kubernetes documents).',
    }),
    pod: Type.String({ description: 'The pod the policies are about: the source for egress, the destination for ingress.' }),
    peer: Type.String({ description: "The other end's address: the destination for egress (after Service DNAT), the source for ingress (after SNAT)." }),
    peerPod: Type.Optional(Type.String({ description: 'The pod that has the peer address, if one does.' })),
    protocol: Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP'), Type.Literal('ICMP')]),
    port: Type.Optional(Type.Integer()),
    isolatedBy: Type.Array(PolicyRef, { description: 'Every NetworkPolicy that selects the pod for this direction.' }),
    allowedBy: Type.Optional(Type.Object(RuleRef, { additionalProperties: false, description: 'ALLOWED: the rule that admits the connection.' })),
    closest: Type.Optional(
      Type.Object(
        { ...RuleRef, unmet: Type.Array(Type.String(), { description: 'What the connection does not meet: the peer (namespace labels, pod labels, ipBlock) and the port.' }) },
        { additionalProperties: false, description: 'DENIED: the rule of the isolating policies that misses by the fewest parts.' },
      ),
    ),
  },
  { additionalProperties: false, description: "NetworkPolicy's verdict at the pod's edge: egress as the packet leaves the source pod, ingress as it reaches the destination pod." },
);

type Answer = Static<typeof PolicyStepSchema>;

const refJson = (r: PolicyRuleRef) => ({
  policy: r.policy,
  rule: r.rule,
  ...(r.peer !== undefined ? { peer: r.peer, peerIndex: r.peerIndex! } : {}),
  ...(r.port !== undefined ? { port: r.port, portIndex: r.portIndex! } : {}),
});

export function policyAnswer(step: EnginePolicyStep, prose: boolean): Answer {
  return {
    type: 'POLICY',
    ...(prose ? { explanation: policyText(step) } : {}),
    direction: step.direction,
    verdict: step.verdict,
    pod: step.pod,
    peer: step.peer.toString(),
    ...(step.peerPod !== undefined ? { peerPod: step.peerPod } : {}),
    protocol: step.protocol,
    ...(step.port !== undefined ? { port: step.port } : {}),
    isolatedBy: step.isolatedBy.map((p) => ({ ...p })),
    ...(step.allowedBy ? { allowedBy: refJson(step.allowedBy) } : {}),
    ...(step.closest ? { closest: { ...refJson(step.closest), unmet: [...step.closest.unmet] } } : {}),
  };
}

const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

export function policyText(s: EnginePolicyStep): string {
  const peer = s.peerPod ?? s.peer.toString();
  const what = `${s.protocol}${s.port !== undefined ? `/${s.port}` : ''}`;
  const conn = s.direction === 'egress' ? `${s.pod} → ${peer} (${what})` : `${peer} → ${s.pod} (${what})`;
  switch (s.verdict) {
    case 'NOT_ISOLATED':
      return `${s.direction}: no NetworkPolicy selects ${s.pod} for ${s.direction}, so ${conn} is allowed`;
    case 'FROM_NODE':
      return (
        `ingress: ${s.pod} is isolated by ${s.isolatedBy.map(name).join(', ')} and no rule admits ${peer}, but ${peer} is ` +
        `${s.pod}'s own node, which Kubernetes documents a pod cannot block (kubelet probes); most plugins allow it`
      );
    case 'ALLOWED': {
      const a = s.allowedBy!;
      const parts = [a.peer === undefined ? 'any peer' : `peer ${a.peer}`, a.port === undefined ? 'any port' : `port ${a.port}`];
      return `${s.direction}: ${conn} is allowed by ${name(a.policy)} ${s.direction} rule ${a.rule} (${parts.join(', ')})`;
    }
    case 'DENIED': {
      const c = s.closest;
      const closest =
        c === undefined
          ? `they have no ${s.direction} rules at all (deny all)`
          : `the closest rule, ${name(c.policy)} ${s.direction} rule ${c.rule}, does not match: ${c.unmet.join('; ')}`;
      return `${s.direction}: ${conn} is denied: ${s.pod} is isolated for ${s.direction} by ${s.isolatedBy.map(name).join(', ')} and no rule admits it; ${closest}`;
    }
  }
}
