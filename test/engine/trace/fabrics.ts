// Fabric documents the tracer's tests share.
import { compileTopology, type CompiledTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import type { FabricDoc, NetnsDoc } from '../../../src/topology/schema.js';

export const compile = (doc: FabricDoc): CompiledTopology => compileTopology(checkTopology({ fabric: doc }));

const pod = (name: string, node: string, address: string, gateway: string): NetnsDoc => ({
  name,
  kind: 'pod',
  node,
  links: [{ name: 'eth0', kind: 'veth', addresses: [address], peer: { netns: node, link: 'veth0' } }],
  routes: [{ dst: 'default', gateway, dev: 'eth0' }],
});

/**
 * Calico-style IP-in-IP across one router: pod-a (node-a) to pod-c (node-c) goes through node-b, in one tunnel from
 * node-a to node-b and another from node-b to node-c. Both outer packets cross the router at the same tunnel depth. The
 * router reaches node-b by a 3-way multipath route (node-b owns all three gateways) and node-c by a 2-way one.
 */
export function twoTunnels(): FabricDoc {
  const node = (name: string, eth0: string[], veth: string, router: string, routes: NetnsDoc['routes']): NetnsDoc => ({
    name,
    kind: 'node',
    links: [
      { name: 'eth0', kind: 'physical', addresses: eth0, segment: name },
      { name: 'tunl0', kind: 'ipip' },
      { name: 'veth0', kind: 'veth', addresses: [veth], peer: { netns: `pod-${name.at(-1)}`, link: 'eth0' } },
    ],
    routes: [{ dst: 'default', gateway: router, dev: 'eth0' }, ...(routes ?? [])],
  });
  return {
    segments: [{ name: 'node-a' }, { name: 'node-b' }, { name: 'node-c' }],
    netns: [
      node('node-a', ['192.168.1.2/24'], '10.0.1.1/24', '192.168.1.1', [
        { dst: '10.0.3.0/24', gateway: '192.168.2.2', dev: 'tunl0', flags: ['onlink'] },
      ]),
      node('node-b', ['192.168.2.2/24', '192.168.2.3/24', '192.168.2.4/24'], '10.0.2.1/24', '192.168.2.1', [
        { dst: '10.0.3.0/24', gateway: '192.168.3.2', dev: 'tunl0', flags: ['onlink'] },
      ]),
      node('node-c', ['192.168.3.2/24', '192.168.3.3/24'], '10.0.3.1/24', '192.168.3.1', []),
      {
        name: 'router',
        kind: 'router',
        links: [
          { name: 'eth0', kind: 'physical', addresses: ['192.168.1.1/24'], segment: 'node-a' },
          { name: 'eth1', kind: 'physical', addresses: ['192.168.2.1/24'], segment: 'node-b' },
          { name: 'eth2', kind: 'physical', addresses: ['192.168.3.1/24'], segment: 'node-c' },
        ],
        routes: [
          {
            dst: '192.168.2.2/32',
            nexthops: ['192.168.2.2', '192.168.2.3', '192.168.2.4'].map((gateway) => ({ gateway, dev: 'eth1' })),
          },
          { dst: '192.168.3.2/32', nexthops: ['192.168.3.2', '192.168.3.3'].map((gateway) => ({ gateway, dev: 'eth2' })) },
        ],
      },
      pod('pod-a', 'node-a', '10.0.1.2/24', '10.0.1.1'),
      pod('pod-b', 'node-b', '10.0.2.2/24', '10.0.2.1'),
      pod('pod-c', 'node-c', '10.0.3.2/24', '10.0.3.1'),
    ],
  };
}

