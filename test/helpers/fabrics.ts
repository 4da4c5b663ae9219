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
