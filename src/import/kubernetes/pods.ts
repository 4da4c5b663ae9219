// The cluster's pods from the Pod objects: those that run, on an imported node, with an address the cluster form can hold;
// one owner per address.
import { podIpsFromNodeCidr } from '../../topology/pod-ipam.js';
import { Addr } from '../../engine/addr.js';
import type { InvalidParam } from '../../topology/data-error.js';
import type { ClusterPodDoc, CniDoc } from '../../topology/schema.js';
import { plural, type ImportWarnings } from '../warnings.js';
import type { KubePodDoc, Located } from './schema.js';
import { familyName, type BuiltNodes } from './nodes.js';

export const POD_SKIP_REASONS = [
  'noNode',
  'pending',
  'terminated',
  'unknownNode',
  'duplicateName',
  'duplicateIP',
  'outsidePodCIDR',
] as const;
export type PodSkipReason = (typeof POD_SKIP_REASONS)[number];

interface PodCandidate {
  at: string;
  pod: ClusterPodDoc;
  /** Who keeps an IP that several pods claim: 2 Running on a Ready node, 1 Running, 0 otherwise. */
  rank: number;
  ips: { key: string; pointer: string }[];
}

export function buildPods(
  pods: Located<KubePodDoc>[],
  built: BuiltNodes,
  allNodeNames: Set<string>,
  plugin: CniDoc['plugin'],
  warnings: ImportWarnings,
  errors: InvalidParam[],
  skipped: Record<PodSkipReason, number>,
): ClusterPodDoc[] {
  const { facts, nodeIps, index } = built;
  const names = new Set<string>();
  const candidates: PodCandidate[] = [];
  // Calico allocates from IPAM blocks and Weave from its one cluster-wide range, not from the node's pod CIDR; every other
  // plugin gives a pod an address from its node's pod CIDR, and the cluster form holds them to it.
  const pinned = podIpsFromNodeCidr(plugin);

  for (const { obj, at } of pods) {
    const namespace = obj.metadata.namespace ?? 'default';
    const id = `${namespace}/${obj.metadata.name}`;
    // Every address is checked, whatever becomes of the pod: text that is not an address is not what kubectl prints.
    const entries: { text: string; pointer: string }[] =
      obj.status?.podIPs !== undefined && obj.status.podIPs.length > 0
        ? obj.status.podIPs.map((e, j) => ({ text: e.ip, pointer: `${at}/status/podIPs/${j}/ip` }))
        : obj.status?.podIP
          ? [{ text: obj.status.podIP, pointer: `${at}/status/podIP` }]
          : [];
    const addrs: { a: Addr; pointer: string }[] = [];
    for (const { text, pointer } of entries) {
      if (text === '') continue;
      const a = Addr.tryParse(text);
      if (!a) errors.push({ pointer, detail: `${JSON.stringify(text)} is not an IPv4 or IPv6 address` });
      else if (addrs.some((x) => x.a.family === a.family)) errors.push({ pointer, detail: `a pod has at most one ${familyName(a.family)} address` });
      else addrs.push({ a, pointer });
    }

    if (names.has(id)) {
      skipped.duplicateName++;
      warnings.add('pod-duplicate-name', (n) => `${plural(n, 'pod repeats', 'pods repeat')} the namespace/name of an earlier pod and ${n === 1 ? 'was' : 'were'} left out`, at, `another pod is also named ${id}`);
      continue;
    }
    names.add(id);
    const nodeName = obj.spec?.nodeName;
    if (!nodeName) {
      skipped.noNode++;
      warnings.add(
        'pod-unscheduled',
        (n) => `${plural(n, 'pod is', 'pods are')} not scheduled to a node (no spec.nodeName) and ${n === 1 ? 'was' : 'were'} left out: ${n === 1 ? 'it has' : 'they have'} no network yet`,
        at,
        `pod ${id} has no spec.nodeName${obj.status?.phase ? ` (phase ${obj.status.phase})` : ''}`,
      );
      continue;
    }
    const phase = obj.status?.phase;
    // "Completed" is what kubectl's STATUS column (and consoles that copy it into phase) says of a Succeeded pod.
    if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Completed') {
      // A finished pod keeps its podIP in status, but the plugin has released it, often to a running pod by now.
      skipped.terminated++;
      warnings.add(
        'pod-terminated',
        (n) => `${plural(n, 'pod has', 'pods have')} finished (phase Succeeded or Failed) and ${n === 1 ? 'was' : 'were'} left out: the plugin released ${n === 1 ? 'its IP' : 'their IPs'}, often to a running pod by now`,
        `${at}/status/phase`,
        `pod ${id} is ${phase}${addrs.length > 0 ? ` (its status still shows ${addrs.map((x) => x.a.toString()).join(', ')})` : ''}`,
      );
      continue;
    }
    if (addrs.length === 0) {
      skipped.pending++;
      warnings.add(
        'pod-without-ip',
        (n) => `${plural(n, 'pod has', 'pods have')} no IP yet (status.podIP is empty) and ${n === 1 ? 'was' : 'were'} left out`,
        `${at}/status`,
        `pod ${id} on node ${nodeName} has no IP${phase ? ` (phase ${phase})` : ''}`,
      );
      continue;
    }
    const node = facts.get(nodeName);
    if (!node) {
      skipped.unknownNode++;
      warnings.add(
        'pod-on-unknown-node',
        (n) => `${plural(n, 'pod runs', 'pods run')} on a node that is not in the import and ${n === 1 ? 'was' : 'were'} left out`,
        `${at}/spec/nodeName`,
        allNodeNames.has(nodeName) ? `pod ${id} runs on node ${nodeName}, which was left out` : `pod ${id} runs on node ${nodeName}, which is not in the objects sent`,
      );
      continue;
    }

    const pod: ClusterPodDoc = { namespace, name: obj.metadata.name, nodeName };
    if (obj.spec?.hostNetwork) {
      // The pod lives in its node's network namespace; its IPs are the node's own.
      pod.hostNetwork = true;
      const kept = addrs.filter(({ a, pointer }) => {
        if (node.ips.has(a.toString())) return true;
        warnings.add(
          'host-network-ip-not-node-address',
          (n) => `${plural(n, 'hostNetwork pod IP is', 'hostNetwork pod IPs are')} not an InternalIP or ExternalIP of the pod's node and ${n === 1 ? 'was' : 'were'} left out (the pods were kept: they live in their node's namespace)`,
          pointer,
          `${a} of pod ${id} is not an address of node ${nodeName}`,
        );
        return false;
      });
      if (kept.length > 0) pod.podIPs = kept.map(({ a }) => a.toString());
      candidates.push({ at, pod, rank: 2, ips: [] });
      continue;
    }

    const ips: PodCandidate['ips'] = [];
    for (const { a, pointer } of addrs) {
      const own = node.cidrs.find((c) => c.family === a.family);
      if (own?.contains(a)) {
        ips.push({ key: a.toString(), pointer });
        continue;
      }
      const other = index.ownerOf(a);
      if (pinned || index.has(a.family)) {
        const where = other !== undefined ? `inside the pod CIDR of node ${other}` : 'outside every node\'s pod CIDR';
        const ownText = own ? `node ${nodeName}'s pod CIDR is ${own}` : `node ${nodeName} has no ${familyName(a.family)} pod CIDR`;
        const code = other !== undefined ? 'pod-ip-in-other-node-cidr' : 'pod-ip-outside-node-cidrs';
        warnings.add(
          code,
          (n) =>
            (other !== undefined
              ? `${plural(n, 'pod IP is', 'pod IPs are')} inside another node's pod CIDR`
              : `${plural(n, 'pod IP is', 'pod IPs are')} outside every node's pod CIDR`) +
            (pinned
              ? `: ${plugin} gives a pod an address from its own node's pod CIDR, so ${n === 1 ? 'it was' : 'they were'} left out (and a pod with no address left, too)`
              : ': usual with Calico, whose IPAM allocates from its own blocks; kept'),
          pointer,
          `${a} of pod ${id} is ${where}; ${ownText}`,
        );
      }
      if (!pinned) ips.push({ key: a.toString(), pointer });
    }
    if (ips.length === 0) {
      skipped.outsidePodCIDR++;
      continue;
    }
    candidates.push({ at, pod, rank: phase === 'Running' ? (node.ready ? 2 : 1) : 0, ips });
  }

  // One owner per IP. A node's address is the node's; among pods a Running pod on a Ready node wins over one whose status
  // may be stale (a node that stopped reporting, a phase that is not Running), then the earlier one. The loser is left
  // out: the cluster form, like the kernel, has one owner per address.
  const owner = new Map<string, string>();
  const lost = new Set<PodCandidate>();
  const byPriority = candidates.filter((c) => c.ips.length > 0).sort((x, y) => y.rank - x.rank);
  for (const c of byPriority) {
    const clash = c.ips.map((ip) => ({ ip, other: nodeIps.has(ip.key) ? `node ${nodeIps.get(ip.key)}` : owner.get(ip.key) })).find((x) => x.other !== undefined);
    if (clash) {
      lost.add(c);
      skipped.duplicateIP++;
      warnings.add(
        'duplicate-ip',
        (n) => `${plural(n, 'pod has', 'pods have')} an IP that another pod or a node has as well and ${n === 1 ? 'was' : 'were'} left out (a Running pod on a Ready node keeps it first, then the first in the list)`,
        clash.ip.pointer,
        `${clash.ip.key} of pod ${c.pod.namespace}/${c.pod.name} is also the address of ${clash.other}`,
      );
      continue;
    }
    for (const ip of c.ips) owner.set(ip.key, `pod ${c.pod.namespace}/${c.pod.name}`);
    c.pod.podIPs = c.ips.map((ip) => ip.key);
  }
  return candidates.filter((c) => !lost.has(c)).map((c) => c.pod);
}
