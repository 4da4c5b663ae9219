// Request and response schemas of the import routes. The Kubernetes objects themselves are described next to the code that
// reads them (src/import/kubernetes/schema.ts): only the fields the import reads are checked, every other field is accepted.
import { Type, type TObject } from '@sinclair/typebox';
import { Cni } from '../../topology/schema.js';
import {
  CNI_MODES,
  CNI_PLUGINS,
  KubernetesImportBody,
  NODE_SKIP_REASONS,
  POD_SKIP_REASONS,
} from '../../import/kubernetes.js';
import { TopologyMeta, TopologyWarning } from './topologies.schemas.js';

export { KubernetesImportBody };
export { NameParams as ImportParams } from './topologies.schemas.js';

export const ImportQuery = Type.Object(
  {
    cni: Type.Optional(
      Type.Union(
        CNI_PLUGINS.map((p) => Type.Literal(p)),
        {
          description:
            'The CNI plugin, when the objects do not say it (422 cni-required) or say it wrong. `canal` is stored as `flannel` with `pods: calico` (flannel between the nodes, Calico\'s cali veths for the pods). Not with `cni` in the body.',
          examples: ['bridge'],
        },
      ),
    ),
    mode: Type.Optional(
      Type.Union(
        CNI_MODES.map((m) => Type.Literal(m)),
        {
          description: 'With `cni` only: the routes of bridge (`host-gw`, `cloud`), the backend of flannel and of Canal (`vxlan`, `host-gw`), the mode of Calico (`bgp`, `ipip`, `vxlan`), the routing of Cilium (`native`, `tunnel`, or its tunnel: `vxlan`, `geneve`); weave takes none. Another value for the plugin is answered 400.', examples: ['host-gw'],
        },
      ),
    ),
    description: Type.Optional(Type.String({ maxLength: 4096, description: 'The topology\'s description (by default a line that counts what was imported). Not with `description` in the body.', examples: ['production, 2026-11-25'] })),
  },
  { additionalProperties: false },
);

const count = () => Type.Integer({ minimum: 0 });

export const ImportCounts = Type.Object({
  nodes: Type.Integer({ minimum: 0, description: 'Nodes stored.' }),
  pods: Type.Integer({ minimum: 0, description: 'Pods stored (hostNetwork pods included).' }),
  skipped: Type.Object(Object.fromEntries(POD_SKIP_REASONS.map((r) => [r, count()])), {
    description: 'Pods left out, by reason.',
  }),
  skippedNodes: Type.Object(Object.fromEntries(NODE_SKIP_REASONS.map((r) => [r, count()])), {
    description: 'Nodes left out, by reason.',
  }),
  ignored: Type.Record(Type.String(), count(), { description: 'Objects of other kinds in the List, by kind.' }),
});

// The fields of every plugin's cni (routes, backend, mode, routing...), so that the answer lists them after `plugin` as
// the stored document has them; without their defaults, which would otherwise be written into answers that lack them.
const cniFields = Object.fromEntries(
  (Cni.anyOf as TObject[])
    .flatMap((variant) => Object.entries(variant.properties))
    .filter(([key]) => key !== 'plugin')
    .map(([key, schema]) => {
      const { default: _default, ...rest } = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
      return [key, Type.Optional(Type.Unsafe(rest))];
    }),
);

export const ImportedCni = Type.Object(
  {
    plugin: Type.String(),
    ...cniFields,
    detectedFrom: Type.String({ description: '"given", or the field of the object that told.' }),
    modeDetectedFrom: Type.Optional(Type.String({ description: 'When the plugin was given alone and its mode was read from the objects.' })),
    evidence: Type.Array(Type.String(), { description: 'Every sign of a CNI plugin found in the objects.' }),
    note: Type.Optional(Type.String()),
  },
  { description: "The cluster's `cni` as stored (plugin and its mode), and where it came from." },
);

export const ImportAnswer = Type.Object({
  ...TopologyMeta.properties,
  counts: ImportCounts,
  cni: ImportedCni,
  warnings: Type.Array(TopologyWarning),
});
