// The counts shown in listings: what the topology holds at a glance.
import type { TopologySpec } from './schema.js';
import type { Summary } from '../store/topologies.js';

export function summarize(spec: TopologySpec): Summary {
  if (spec.form === 'cluster') {
    const pods = spec.cluster.pods ?? [];
    // hostNetwork pods share their node's namespace; every other pod has its own.
    const ownNetns = pods.filter((p) => !p.hostNetwork).length;
    return { nodes: spec.cluster.nodes.length, pods: pods.length, netns: spec.cluster.nodes.length + ownNetns };
  }
  const { netns } = spec.fabric;
  return {
    nodes: netns.filter((n) => n.kind === 'node').length,
    pods: netns.filter((n) => n.kind === 'pod').length,
    netns: netns.length,
  };
}
