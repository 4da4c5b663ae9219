// Small fabric documents more than one test traces.
import type { FabricDoc } from '../../src/topology/schema.js';

/** Two nodes on one segment, a pod on each; node-a's eth0 has an MTU of 1400. */
export const narrow: FabricDoc = {
  segments: [{ name: 'underlay', cidr: '192.168.0.0/24' }],
  netns: [
    {
      name: 'pod-a',
      kind: 'pod',
      node: 'node-a',
      links: [{ name: 'eth0', kind: 'veth', addresses: ['10.0.1.2/24'], peer: { netns: 'node-a', link: 'veth-a' } }],
      routes: [{ dst: 'default', gateway: '10.0.1.1', dev: 'eth0' }],
    },
    {
      name: 'node-a',
      kind: 'node',
      links: [
        { name: 'eth0', kind: 'physical', addresses: ['192.168.0.1/24'], segment: 'underlay', mtu: 1400 },
        { name: 'veth-a', kind: 'veth', addresses: ['10.0.1.1/24'], peer: { netns: 'pod-a', link: 'eth0' } },
      ],
      routes: [{ dst: '10.0.2.0/24', gateway: '192.168.0.2', dev: 'eth0' }],
    },
    {
      name: 'node-b',
      kind: 'node',
      links: [
        { name: 'eth0', kind: 'physical', addresses: ['192.168.0.2/24'], segment: 'underlay' },
        { name: 'veth-b', kind: 'veth', addresses: ['10.0.2.1/24'], peer: { netns: 'pod-b', link: 'eth0' } },
      ],
      routes: [{ dst: '10.0.1.0/24', gateway: '192.168.0.1', dev: 'eth0' }],
    },
    {
      name: 'pod-b',
      kind: 'pod',
      node: 'node-b',
      links: [{ name: 'eth0', kind: 'veth', addresses: ['10.0.2.2/24'], peer: { netns: 'node-b', link: 'veth-b' } }],
      routes: [{ dst: 'default', gateway: '10.0.2.1', dev: 'eth0' }],
    },
  ],
};

/** Every character that acts in some output: Slack's mentions and links, mrkdwn and Markdown formatting, XML. */
const MARKUP = '<!channel> *b* _i_ ~s~ `c` ``d`` <https://evil.invalid|docs> &amp; ]]> "q" \'a\' |p| [l](x)';
/** Every C0 control but NUL (which PostgreSQL cannot store), an ANSI colour, a C1 CSI and a bidi override. */
export const CONTROLS = `${Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('')}\u001b[31m\u009b\u202e`;
/** Surrogates outside a pair: not characters, and not allowed in XML. */
const LONE = '\ud800x\udc00';

/**
 * Names a user can store, built to break each output: the pod, its node and the node's veth carry them. The pod's
 * begins with what breaks XML, so that the heat map's labels, cut at 40 characters, still hold it.
 */
const hostileNames = { pod: `<&"]]>${LONE}${CONTROLS}${MARKUP}`, node: `node ${MARKUP}${LONE}`, link: `v${CONTROLS}\`<&>` };

/** `narrow` with the hostile names for pod-a, node-a and node-a's veth-a. */
export const hostile: FabricDoc = JSON.parse(JSON.stringify(narrow), (_key, value: unknown) =>
  value === 'pod-a' ? hostileNames.pod : value === 'node-a' ? hostileNames.node : value === 'veth-a' ? hostileNames.link : value,
);

/**
 * `n` routers in a ring, r0 … r(n-1), each joined to the next by two segments (a and b) and routing everything by one
 * default route with four equal next hops, over both segments to both neighbours: a packet for an address nobody owns
 * splits at every router, into far more paths than the engine follows, each ending in a LOOP.
 */
export function ecmpRing(n: number): FabricDoc {
  const prev = (i: number) => (i + n - 1) % n;
  // The segment between r(i) and r(i+1) on side a or b: r(i) is .1 on it, r(i+1) is .2.
  const net = (i: number, side: 'a' | 'b') => `192.168.${2 * i + (side === 'a' ? 0 : 1)}`;
  const sides = ['a', 'b'] as const;
  return {
    segments: Array.from({ length: n }, (_, i) => sides.map((side) => ({ name: `s${i}${side}`, cidr: `${net(i, side)}.0/24` }))).flat(),
    netns: Array.from({ length: n }, (_, i) => ({
      name: `r${i}`,
      kind: 'router' as const,
      links: sides.flatMap((side) => [
        { name: `right-${side}`, kind: 'physical' as const, addresses: [`${net(i, side)}.1/24`], segment: `s${i}${side}` },
        { name: `left-${side}`, kind: 'physical' as const, addresses: [`${net(prev(i), side)}.2/24`], segment: `s${prev(i)}${side}` },
      ]),
      routes: [
        {
          dst: 'default',
          nexthops: sides.flatMap((side) => [
            { gateway: `${net(i, side)}.2`, dev: `right-${side}`, weight: 1 },
            { gateway: `${net(prev(i), side)}.1`, dev: `left-${side}`, weight: 1 },
          ]),
        },
      ],
    })),
  };
}
