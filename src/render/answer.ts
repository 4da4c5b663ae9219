// What the renderers draw: the trace answer as the API returns it in JSON. Every format is made from this one value, so
// a text line, a diagram and the JSON can never tell different stories.
import type { Static } from '@sinclair/typebox';
import type { TraceAnswer } from '../http/routes/trace.schemas.js';

export type Answer = Static<typeof TraceAnswer>;
export type HopView = Answer['hops'][number];
export type StepView = HopView['steps'][number];

/** The one decision that says most about a hop: its drop, its delivery, its route lookup, or the bridge it crossed. */
export function decisionOf(hop: HopView): StepView | undefined {
  for (const type of ['DROP', 'DELIVER', 'ROUTE', 'BRIDGE', 'ORIGINATE']) {
    const step = hop.steps.find((s) => s.type === type);
    if (step !== undefined) return step;
  }
  return hop.steps[0];
}

/** The host a hop belongs to: a pod's node, or the netns itself. */
export const hostOf = (hop: HopView): string => hop.node ?? hop.netns;

export const ok = (a: Pick<Answer, 'disposition'>) => a.disposition === 'DELIVERED';

/** The destination of the route a ROUTE step matched ("default", "10.1.2.0/24"), or undefined. */
export function routeDst(step: StepView): string | undefined {
  const route = (step as { route?: { dst?: string } | null }).route;
  return step.type === 'ROUTE' && route ? route.dst : undefined;
}

/** The sentence saying that the packet of the asked size does not fit the path's MTU, or undefined when it fits. */
export const tooBig = (a: Answer): string | undefined => (a.mtu?.fits === false ? a.mtu.explanation : undefined);

/**
 * What carries the packet out of a hop that encapsulates it, in a few words ("flannel.1: UDP 8472 VNI 1 to
 * 192.168.0.12", "tunl0: IP-in-IP to 192.168.0.13"), or undefined for a hop without a tunnel.
 */
export function tunnelOf(hop: HopView): string | undefined {
  const step = hop.steps.find((s) => s.type === 'ENCAPSULATE') as
    | (StepView & { link: string; outer: { dst: string; protocol: string; port?: number; vni?: number } })
    | undefined;
  if (step === undefined) return undefined;
  const { outer } = step;
  const how = outer.protocol === 'ipip' ? 'IP-in-IP' : `UDP ${outer.port}${outer.vni !== undefined ? ` VNI ${outer.vni}` : ''}`;
  return `${step.link}: ${how} to ${outer.dst}`;
}
