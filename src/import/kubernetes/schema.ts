// The Kubernetes objects as kubectl prints them (`kubectl get nodes,pods -A -o json`), as the import reads them. The
// schemas read only the fields the import uses and accept every other field, since kubectl prints many more
// (managedFields, containers, conditions...) and new Kubernetes versions add some.
import { Type, type Static, type TOptional, type TSchema, type TString } from '@sinclair/typebox';
import { DataError, type InvalidParam } from '../../topology/data-error.js';
import { ClusterNetwork, Cni } from '../../topology/schema.js';
import { KubeAdminNetworkPolicy, KubeBaselineAdminNetworkPolicy, KubeNamespace, KubeNetworkPolicy, KubePodPolicyFields, POLICY_KINDS } from './policies.js';
import { ANNOTATION } from '../../engine/compile/annotations.js';

/** Node annotations that CNI plugins write, and that the import reads to tell which data path the cluster uses. */
export { ANNOTATION };

const Open = <T extends Parameters<typeof Type.Object>[0]>(properties: T, options: Parameters<typeof Type.Object>[1] = {}) =>
  Type.Object(properties, { additionalProperties: true, ...options });

const NameText = Type.String({ minLength: 1, maxLength: 253 });
const NamespaceText = Type.String({ minLength: 1, maxLength: 63 });
const AddressText = Type.String({ maxLength: 64 });

const NodeAnnotations = Open(
  Object.fromEntries(Object.values(ANNOTATION).map((key) => [key, Type.Optional(Type.String({ maxLength: 4096 }))])) as Record<
    string,
    TOptional<TString>
  >,
  { description: 'Only the annotations of CNI plugins are read.' },
);

export const KubeNode = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('Node')),
    metadata: Open({
      name: NameText,
      annotations: Type.Optional(NodeAnnotations),
      labels: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 63 }))),
    }),
    spec: Type.Optional(
      Open({
        providerID: Type.Optional(Type.String({ maxLength: 1024 })),
        podCIDR: Type.Optional(AddressText),
        podCIDRs: Type.Optional(Type.Array(AddressText, { maxItems: 2 })),
      }),
    ),
    status: Type.Optional(
      Open({
        addresses: Type.Optional(Type.Array(Open({ type: Type.String({ minLength: 1 }), address: Type.String({ minLength: 1, maxLength: 253 }) }))),
        conditions: Type.Optional(Type.Array(Open({ type: Type.String(), status: Type.String() }))),
      }),
    ),
  },
  {
    description:
      'A v1 Node; of its fields only metadata.name, .annotations and .labels, spec.providerID and .podCIDR(s), status.addresses, the Ready condition and the message of the NetworkUnavailable condition (a routes-based cloud) are read.',
  },
);

export const KubePod = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.Literal('Pod')),
    metadata: Open({ name: NameText, namespace: Type.Optional(NamespaceText) }),
    spec: Type.Optional(Open({ nodeName: Type.Optional(Type.String({ maxLength: 253 })), hostNetwork: Type.Optional(Type.Boolean()) })),
    status: Type.Optional(
      Open({
        phase: Type.Optional(Type.String()),
        podIP: Type.Optional(AddressText),
        podIPs: Type.Optional(Type.Array(Open({ ip: AddressText }), { maxItems: 2 })),
      }),
    ),
  },
  {
    description:
      'A v1 Pod; of its fields only metadata.namespace and .name, spec.nodeName and .hostNetwork, status.phase, .podIP and .podIPs are read.',
  },
);

// An item of a v1 List is a Node, a Pod, or anything else (ignored, and counted). JSON Schema's if/then checks a Node as a
// Node and a Pod as a Pod without the noise a union of three would report for every error.
const whenKind = (kind: string, then: TSchema) => ({
  if: { type: 'object', properties: { kind: { const: kind } }, required: ['kind'] },
  then,
});
export const KubeListItem = Type.Object(
  { apiVersion: Type.Optional(Type.String()), kind: Type.String({ minLength: 1 }) },
  {
    additionalProperties: true,
    allOf: [
      whenKind('Node', KubeNode),
      whenKind('Pod', KubePod),
      whenKind('Pod', KubePodPolicyFields),
      whenKind('Namespace', KubeNamespace),
      whenKind('NetworkPolicy', KubeNetworkPolicy),
      whenKind('AdminNetworkPolicy', KubeAdminNetworkPolicy),
      whenKind('BaselineAdminNetworkPolicy', KubeBaselineAdminNetworkPolicy),
    ],
    description:
      'An object of a v1 List: Nodes, Pods (with their labels and container ports), Namespaces, NetworkPolicies, ' +
      'AdminNetworkPolicies and the BaselineAdminNetworkPolicy are read; ' +
      'objects of other kinds are counted and ignored.',
  },
);

const listOf = <T extends TSchema>(item: T, description: string) =>
  Open({ apiVersion: Type.Optional(Type.String()), kind: Type.Optional(Type.String()), items: Type.Array(item) }, { description });

export const NodeList = listOf(KubeNode, 'What `kubectl get nodes -o json` prints (a List), or a NodeList of the API.');
export const PodList = listOf(KubePod, 'What `kubectl get pods -A -o json` prints (a List), or a PodList of the API.');

export const KubernetesImportBody = Open(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    items: Type.Optional(Type.Array(KubeListItem)),
    nodes: Type.Optional(NodeList),
    pods: Type.Optional(PodList),
    cni: Type.Optional(Cni),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    network: Type.Optional(ClusterNetwork),
  },
  {
    description:
      'What `kubectl get nodes,pods -A -o json` prints (a v1 List with `items`), or `{nodes: <List of Nodes>, pods: <List of Pods>}`. ' +
      'Either may carry `cni`, `description` and `network` next to what kubectl printed. Unknown properties are accepted.',
  },
);

export type KubeNodeDoc = Static<typeof KubeNode>;
export type KubePodDoc = Static<typeof KubePod>;
export type KubernetesImportBodyDoc = Static<typeof KubernetesImportBody>;

/** Enough to fix a request in one go, not so many that a badly broken upload produces an answer as large. */
export const MAX_ERRORS = 100;

/** Input kubectl never prints: refused (400), with JSON pointers into the request. */
export const badRequest = (message: string, errors: InvalidParam[]) => new DataError(message, errors.slice(0, MAX_ERRORS), 400, 'invalid-request');

export interface Located<T> {
  obj: T;
  /** JSON pointer of the object in the request body. */
  at: string;
}

/** The Nodes and Pods of the request, wherever it holds them, and how many objects of other kinds it holds. */
export function collect(body: KubernetesImportBodyDoc) {
  const nodes: Located<KubeNodeDoc>[] = [];
  const pods: Located<KubePodDoc>[] = [];
  // Keyed by what the caller sent: a Map, so that a kind named "constructor" or "__proto__" is just a name.
  const ignored = new Map<string, number>();
  if (body.items !== undefined) {
    if (body.nodes !== undefined || body.pods !== undefined) {
      throw badRequest('the body is a List (items) and also has nodes or pods', [
        { pointer: body.nodes !== undefined ? '/nodes' : '/pods', detail: 'give either a List (items) or nodes and pods, not both' },
      ]);
    }
    body.items.forEach((item, i) => {
      if (item.kind === 'Node') nodes.push({ obj: item as unknown as KubeNodeDoc, at: `/items/${i}` });
      else if (item.kind === 'Pod') pods.push({ obj: item as unknown as KubePodDoc, at: `/items/${i}` });
      else if (!(POLICY_KINDS as readonly string[]).includes(item.kind)) ignored.set(item.kind, (ignored.get(item.kind) ?? 0) + 1);
    });
    if (nodes.length === 0) {
      throw badRequest('the List holds no Node', [
        { pointer: '/items', detail: 'holds no object of kind Node: send what kubectl get nodes,pods -A -o json prints' },
      ]);
    }
  } else if (body.nodes !== undefined) {
    body.nodes.items.forEach((obj, i) => nodes.push({ obj, at: `/nodes/items/${i}` }));
    body.pods?.items.forEach((obj, i) => pods.push({ obj, at: `/pods/items/${i}` }));
    if (nodes.length === 0) {
      throw badRequest('the nodes list is empty', [{ pointer: '/nodes/items', detail: 'holds no Node: send what kubectl get nodes -o json prints' }]);
    }
  } else {
    throw badRequest('the body holds no Kubernetes objects', [
      {
        pointer: body.pods !== undefined ? '/nodes' : '/items',
        detail:
          body.pods !== undefined
            ? 'is required: the pods need their nodes (kubectl get nodes -o json)'
            : 'is required: send what kubectl get nodes,pods -A -o json prints (a List), or {nodes, pods}',
      },
    ]);
  }
  return { nodes, pods, ignored: Object.fromEntries(ignored) };
}

