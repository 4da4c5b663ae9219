// What the renderers read off a trace answer. Every format is drawn from the answer the API returns in JSON, so a text
// line, a diagram and the JSON can never tell different stories.
import type { AnswerHop, TraceAnswer } from '../answer/schema.js';
import type { AnswerStep } from '../answer/steps.js';
import { decidingStep } from '../answer/explain.js';

/** The one decision that says most about a hop (see decidingStep): the only step whose sentence text and Markdown print. */
export const decisionOf = (hop: AnswerHop): AnswerStep | undefined => hop.steps[decidingStep(hop.steps)];

/**
 * The NetworkPolicy verdicts of a hop that say something: a rule allowed, a policy denied, or the pod's own node got
 * through. NOT_ISOLATED (no policy selects the pod) is left to the JSON.
 */
export function policiesOf(hop: AnswerHop): Extract<AnswerStep, { type: 'POLICY' }>[] {
  return hop.steps.filter((s): s is Extract<AnswerStep, { type: 'POLICY' }> => s.type === 'POLICY' && s.verdict !== 'NOT_ISOLATED');
}

/** A POLICY step in a few words: "ingress denied (shop/db-in)", "egress allowed by shop/web-out rule 0". */
export function policyLabel(s: Extract<AnswerStep, { type: 'POLICY' }>): string {
  const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;
  const d = s.decidedBy;
  if (d !== undefined) return `${s.direction} ${s.verdict === 'ALLOWED' ? 'allowed' : 'denied'} by ${d.kind === 'AdminNetworkPolicy' ? 'ANP' : 'BANP'} ${d.name} rule ${d.rule}`;
  if (s.verdict === 'ALLOWED') return `${s.direction} allowed by ${name(s.allowedBy!.policy)} rule ${s.allowedBy!.rule}`;
  if (s.verdict === 'FROM_NODE') return `${s.direction} allowed: from the pod's own node`;
  return `${s.direction} denied (${s.isolatedBy.map(name).join(', ')})`;
}

/** The host a hop belongs to: a pod's node, or the netns itself. */
export const hostOf = (hop: AnswerHop): string => hop.node ?? hop.netns;

/**
 * How a trace ended, as a reader judges it: delivered, left the modelled network (no failure seen: the packet went on to
 * a gateway the topology does not describe), or failed. The wire calls the step where a packet leaves a DROP, since it
 * ends the walk; no renderer may show it as a failure.
 */
export type Outcome = 'delivered' | 'exits' | 'failed';
export const outcomeOf = (a: Pick<TraceAnswer, 'disposition'>): Outcome =>
  a.disposition === 'DELIVERED' ? 'delivered' : a.disposition === 'EXITS_NETWORK' ? 'exits' : 'failed';

/** A step where the packet died: a DROP, but not the one that records it leaving the network. */
export const isDrop = (step: AnswerStep | undefined): boolean => step?.type === 'DROP' && step.disposition !== 'EXITS_NETWORK';

/** The step that records the packet leaving the modelled network. */
export const isExit = (step: AnswerStep | undefined): boolean => step?.type === 'DROP' && step.disposition === 'EXITS_NETWORK';

/** The destination of the route a ROUTE step matched ("default", "10.1.2.0/24"), or undefined. */
export function routeDst(step: AnswerStep): string | undefined {
  return step.type === 'ROUTE' && step.route ? step.route.dst : undefined;
}

/** The sentence saying that the packet of the asked size does not fit the path's MTU, or undefined when it fits. */
export const tooBig = (a: TraceAnswer): string | undefined => (a.mtu?.fits === false ? a.mtu.explanation : undefined);

/**
 * kube-proxy's translations in a hop, in a few words: what the packet's address becomes ("DNAT 10.1.2.53:53", "SNAT
 * 10.1.1.1"), and in a reply conntrack's reversal of them, the Service address it then comes from and, when the request
 * was masqueraded, the client it goes to again ("UNNAT from 10.96.0.10:53", "UNNAT from 192.168.0.12:30080 to
 * 203.0.113.7", or after an egress masquerade "UNNAT to 10.1.1.2"); or undefined.
 */
export function natOf(hop: AnswerHop): string | undefined {
  const parts: string[] = [];
  for (const s of hop.steps) {
    if (s.type === 'DNAT' && s.to !== undefined) parts.push(`DNAT ${s.to}`);
    else if (s.type === 'SNAT') parts.push(`SNAT ${s.to}`);
    // An egress masquerade's reply has no source to restore, only its destination (the pod) again.
    else if (s.type === 'UNNAT') parts.push(s.src !== undefined ? `UNNAT from ${s.src.to}${s.dst !== undefined ? ` to ${s.dst.to}` : ''}` : `UNNAT to ${s.dst?.to}`);
  }
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/**
 * What carries the packet out of a hop that encapsulates it, in a few words ("flannel.1: UDP 8472 VNI 1 to
 * 192.168.0.12", "tunl0: IP-in-IP to 192.168.0.13"), or undefined for a hop without a tunnel.
 */
export function tunnelOf(hop: AnswerHop): string | undefined {
  const step = hop.steps.find((s) => s.type === 'ENCAPSULATE');
  if (step === undefined) return undefined;
  const { outer } = step;
  const how = outer.protocol === 'ipip' ? 'IP-in-IP' : `UDP ${outer.port}${outer.vni !== undefined ? ` VNI ${outer.vni}` : ''}`;
  return `${step.link}: ${how} to ${outer.dst}`;
}
