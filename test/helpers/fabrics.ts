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
