// What NetworkPolicy verdicts need from a kubectl List: the Namespaces (their labels), the NetworkPolicies,
// AdminNetworkPolicies and BaselineAdminNetworkPolicy as they are, and of every imported pod its labels and its
// containers' ports (for named ports). Read from the same List as the nodes and pods (`kubectl get
// nodes,pods,namespaces,networkpolicies,adminnetworkpolicies,baselineadminnetworkpolicies -A -o json`).
import { Type, type Static } from '@sinclair/typebox';
import {
  AdminNetworkPolicy,
  BaselineAdminNetworkPolicy,
  NetworkPolicy,
  type AdminNetworkPolicyDoc,
  type BaselineAdminNetworkPolicyDoc,
  type ClusterDoc,
  type NetworkPolicyDoc,
} from '../../topology/schema.js';
import type { KubernetesImportBodyDoc } from './schema.js';

const Labels = Type.Record(Type.String(), Type.String());

export const KubeNamespace = Type.Object(
  { metadata: Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }), labels: Type.Optional(Labels) }, { additionalProperties: true }) },
  { additionalProperties: true, description: 'A v1 Namespace; metadata.name and .labels are read.' },
);

/** The fields of a Pod that policies read, checked next to those of KubePod. */
export const KubePodPolicyFields = Type.Object(
  {
    metadata: Type.Object({ labels: Type.Optional(Labels) }, { additionalProperties: true }),
    spec: Type.Optional(
      Type.Object(
        {
          containers: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  ports: Type.Optional(
                    Type.Array(
                      Type.Object(
                        {
                          name: Type.Optional(Type.String({ minLength: 1, maxLength: 15 })),
                          containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
                          protocol: Type.Optional(Type.Union([Type.Literal('TCP'), Type.Literal('UDP'), Type.Literal('SCTP')])),
                        },
                        { additionalProperties: true },
                      ),
                    ),
                  ),
                },
                { additionalProperties: true },
              ),
            ),
          ),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);

export { NetworkPolicy as KubeNetworkPolicy, AdminNetworkPolicy as KubeAdminNetworkPolicy, BaselineAdminNetworkPolicy as KubeBaselineAdminNetworkPolicy };

type KubeNamespaceDoc = Static<typeof KubeNamespace>;
type KubePodPolicyDoc = Static<typeof KubePodPolicyFields>;

/** The kinds this file reads from a List (besides Pods, whose labels and ports it adds). */
export const POLICY_KINDS = ['Namespace', 'NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy'] as const;

/**
 * Adds the List's namespaces, NetworkPolicies, and the labels and container ports of the pods the cluster holds. Only a
 * List (`items`), whose items are checked by kind, is read: `{nodes, pods}` bodies import routing alone.
 */
export function addPolicies(cluster: ClusterDoc, body: KubernetesImportBodyDoc): void {
  const items = (body.items ?? []) as { kind: string }[];
  const podObjects = items.filter((i) => i.kind === 'Pod') as unknown as (KubePodPolicyDoc & {
    metadata: { name: string; namespace?: string };
  })[];
  const byKey = new Map(podObjects.map((p) => [`${p.metadata.namespace ?? 'default'}/${p.metadata.name}`, p]));
  for (const pod of cluster.pods ?? []) {
    const obj = byKey.get(`${pod.namespace ?? 'default'}/${pod.name}`);
    if (obj === undefined) continue;
    if (obj.metadata.labels !== undefined && Object.keys(obj.metadata.labels).length > 0) pod.labels = obj.metadata.labels;
    const ports = (obj.spec?.containers ?? []).flatMap((c) => c.ports ?? []).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      containerPort: p.containerPort,
      ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
    }));
    if (ports.length > 0) pod.ports = ports;
  }
  const namespaces = (items.filter((i) => i.kind === 'Namespace') as unknown as KubeNamespaceDoc[]).map((ns) => ({
    name: ns.metadata.name,
    ...(ns.metadata.labels !== undefined ? { labels: ns.metadata.labels } : {}),
  }));
  if (namespaces.length > 0) cluster.namespaces = namespaces;
  const policies = items.filter((i) => i.kind === 'NetworkPolicy') as unknown as NetworkPolicyDoc[];
  if (policies.length > 0) cluster.networkPolicies = policies;
  const admin = items.filter((i) => i.kind === 'AdminNetworkPolicy') as unknown as AdminNetworkPolicyDoc[];
  if (admin.length > 0) cluster.adminNetworkPolicies = admin;
  const baseline = items.filter((i) => i.kind === 'BaselineAdminNetworkPolicy') as unknown as BaselineAdminNetworkPolicyDoc[];
  if (baseline.length > 0) cluster.baselineAdminNetworkPolicies = baseline;
  // A nodes peer selects nodes by their labels: only then are the nodes' labels worth carrying into the topology.
  const nodesPeers = [...admin, ...baseline].some((p) => (p.spec.egress ?? []).some((r) => r.to.some((peer) => peer.nodes !== undefined)));
  if (nodesPeers) {
    const labels = new Map(
      (items.filter((i) => i.kind === 'Node') as unknown as { metadata: { name: string; labels?: Record<string, string> } }[]).map((n) => [n.metadata.name, n.metadata.labels]),
    );
    for (const node of cluster.nodes) {
      const l = labels.get(node.name);
      if (l !== undefined && Object.keys(l).length > 0) node.labels = l;
    }
  }
}
