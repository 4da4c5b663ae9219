// POST|PUT /v1/topologies/{name}/import/kubernetes: store what `kubectl get nodes,pods -A -o json` prints as a cluster.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { JobResult } from '../../work/jobs.js';
import { LargeJson } from '../json-body.js';
import type { TopologyInput, TopologyMeta } from '../../store/topologies.js';
import { Problem } from '../problem.js';
import { etag, parseIfMatch } from '../preconditions.js';
import { ImportAnswer, ImportParams, ImportQuery, KubernetesImportBody } from './import.schemas.js';
import { WriteHeaders } from './topologies.schemas.js';
import { Conflict, ETag, ImportBadRequest, ImportUnprocessable, Location, PayloadTooLarge, PreconditionFailed, UnsupportedMediaType, Busy } from '../responses.js';


const location = (name: string) => `/v1/topologies/${name}`;

type Imported = JobResult<'import'>;

const toInput = (name: string, imported: Imported): TopologyInput => ({
  name,
  description: imported.description,
  form: 'cluster',
  documentJson: imported.documentJson,
  summary: imported.summary,
});

const answer = ({ id: _id, ...meta }: TopologyMeta, { counts, cni, warnings }: Imported) => ({ ...meta, counts, cni, warnings });

const importDescription = 'Builds a cluster topology from the output of `kubectl get nodes,pods -A -o json` and stores it, so that a real\n' +
  'cluster can be traced at once:\n' +
  '\n' +
  '```sh\n' +
  'kubectl get nodes,pods -A -o json |\n' +
  '  curl --data-binary @- -H \'content-type: application/json\' localhost:8080/v1/topologies/prod/import/kubernetes\n' +
  '```\n' +
  '\n' +
  '**The body** is what kubectl prints: a v1 `List` whose `items` are Nodes, Pods, the Service objects below and objects of other kinds\n' +
  '(counted in `counts.ignored`, otherwise ignored), or `{nodes: <List of Nodes>, pods: <List of Pods>}`, as\n' +
  '`kubectl get nodes -o json` and `kubectl get pods -A -o json` (or the API\'s NodeList and PodList) print them. Only\n' +
  'the fields the import reads are checked; every other field kubectl prints (managedFields, containers,\n' +
  'conditions...) is accepted. Next to them the body may carry `cni`, `description` and `network` as in a cluster\n' +
  'document (`jq \'.cni = {plugin: "bridge"}\'`). The body limit is 64 MiB unless configured otherwise; kubectl ≥ 1.21\n' +
  'leaves managedFields out, which keeps a 500-node, 15,000-pod cluster near 45 MB.\n' +
  '\n' +
  '**What is read.** A node: `metadata.name`; `status.addresses` (InternalIP first, then the others; node addresses\n' +
  'are what the nodes route pod traffic to); `spec.podCIDRs`, or the older `spec.podCIDR`; the Ready condition; the\n' +
  'CNI annotations the data paths read, kept in the stored node\'s `annotations`: Calico\'s tunnel addresses (the\n' +
  'tunnel device\'s address and the node\'s IPAM block) and `IPv4Address` (the nodes\' subnet), Cilium\'s\n' +
  '`ipv4-cilium-host` and `ipv4-health-ip`, flannel\'s `backend-data` (`VtepMAC`). The nodes\' gateway is in no\n' +
  'object: without `network.gateway` one is assumed on their subnet, and a warning (`network-gateway-assumed`) says so.\n' +
  'A pod: `metadata.namespace` and `.name`, `spec.nodeName`, `spec.hostNetwork`, `status.phase`, and\n' +
  '`status.podIPs` or `status.podIP`. Services, EndpointSlices, v1 Endpoints and the `kube-system/kube-proxy`\n' +
  'ConfigMap (its `config.conf`) in the same List become the cluster\'s `services`, `endpointSlices`, `endpoints` and\n' +
  '`kubeProxy`, so that traces go through kube-proxy\'s rules (add `kubectl get services,endpointslices -A -o json` and\n' +
  '`kubectl get -n kube-system configmap/kube-proxy -o json` to the List).\n' +
  '\n' +
  '**The data path** (`cni` of the cluster) is, in this order: `cni` in the body; `cni=` (and `mode=`) of the query\n' +
  '(with `cni=` alone, the mode the nodes\' annotations show fills in; `cni=canal` is flannel with `pods: calico`); or\n' +
  'detected from the objects:\n' +
  '\n' +
  '- flannel from the node annotation `flannel.alpha.coreos.com/backend-type` (backend `vxlan`, with the VNI of\n' +
  '  `backend-data`, or `host-gw`), or `flannel.alpha.coreos.com/public-ip` (backend unknown);\n' +
  '- Calico from `projectcalico.org/IPv4VXLANTunnelAddr` (`vxlan`), `projectcalico.org/IPv4IPIPTunnelAddr`\n' +
  '  (`ipip`), or `projectcalico.org/IPv4Address` alone (`bgp`); with flannel\'s annotations too, Canal (flannel\n' +
  '  with `pods: calico`: flannel between the nodes, Calico\'s cali veths for the pods);\n' +
  '- Cilium from `network.cilium.io/ipv4-cilium-host`, `ipv4-pod-cidr`, `ipv4-health-ip` (and their IPv6 and\n' +
  '  pre-1.12 `io.cilium.network.*` forms); its routing mode is not in the objects. With Cilium the nodes\' pod CIDRs\n' +
  '  are the ones in its `ipv4-pod-cidr`/`ipv6-pod-cidr` annotations (cluster-pool IPAM), when they are there;\n' +
  '- the clouds\', kind\'s and OpenShift\'s data paths from their agent pods (`aws-node-*`, `azure-cns-*`, `anetd-*`,\n' +
  '  `kindnet-*`), the nodes\' `spec.providerID` (`aws://`, `azure://`, `gce://`) and the clouds\' labels\n' +
  '  (`kubernetes.azure.com/network-plugin`, `cloud.google.com/gke-nodepool`, `vpc.amazonaws.com/*`): `aws-vpc-cni`,\n' +
  '  `azure-cni`, `bridge` with `routes: cloud` (kubenet), `gke`, `kindnet`; OVN-Kubernetes (`k8s.ovn.org/node-subnets`,\n' +
  '  `ovnkube-*` pods) and OpenShift SDN (`openshift-sdn/sdn-*` pods) are recognised and answered 422, as not modelled;\n' +
  '- weaker, when no node is annotated: agent pods in kube-system, kube-flannel, calico-system or cilium named\n' +
  '  `calico-node-*`, `kube-flannel-ds-*`, `canal-*`, `cilium-*` or `weave-net-*`.\n' +
  '\n' +
  'The answer\'s `cni` says what was stored and `detectedFrom` where it came from (`given`, or the field and the\n' +
  'object, e.g. `metadata.annotations["flannel.alpha.coreos.com/backend-type"] of node cp-1`); `evidence` lists\n' +
  'every sign found. When nothing tells (kubenet on a machine of no cloud, and other plugins that leave no mark), the\n' +
  'answer is 422 `urn:pathtrace:problem:cni-required`: give `cni=`. A given plugin that differs from the detected one\n' +
  '(or flannel where the objects say Canal) is stored as given, with a warning.\n' +
  '\n' +
  '**What the cluster form cannot hold** is left out, counted in `counts` and explained in `warnings` (each with a\n' +
  'count and up to 10 examples that point into the request body), rather than refused: the cluster is simply like\n' +
  'that, and the rest of it can be traced. Pods: not scheduled (`noNode`); no IP yet (`pending`); `Succeeded` or\n' +
  '`Failed`, whose IP the plugin has released (`terminated`); on a node that is not imported (`unknownNode`); a\n' +
  'repeated namespace/name (`duplicateName`); an IP another pod or a node has (`duplicateIP`: a Running pod on a\n' +
  'Ready node keeps it, then the first); with a plugin that gives pods addresses from their node\'s pod CIDR (all but\n' +
  'Calico), no IP inside it (`outsidePodCIDR`; the other IPs of a dual-stack pod are dropped alone). With Calico, whose\n' +
  'IPAM allocates from its own blocks, pod IPs outside their node\'s pod CIDR are kept and reported. A hostNetwork\n' +
  'pod keeps the addresses of its node only. Nodes: a repeated name (`duplicateName`), no InternalIP or ExternalIP\n' +
  '(`noAddress`); an address of an earlier node or a pod CIDR that overlaps an earlier node\'s is dropped. Values\n' +
  'kubectl never prints (an address that does not parse, a pod CIDR with host bits, two IPv4 pod IPs) are a 400\n' +
  'with JSON pointers.\n' +
  '\n' +
  'POST creates the topology (409 if the name is taken); PUT creates or replaces it like PUT /v1/topologies/{name}.\n';

const importBody = {
  content: {
    'application/json': {
      examples: {
        flannelHostGw: { $ref: '#/components/examples/KubectlFlannelHostGw' },
        noCni: { $ref: '#/components/examples/KubectlWithoutCni' },
      },
    },
  },
};

const importKubernetesDoc = {
  tags: ['import'],
  operationId: 'importKubernetes',
  summary: 'Create a topology from what kubectl prints',
  description: importDescription,
  'x-request-body': importBody,
  response: {
    201: {
      description: 'Created as revision 1. The answer is the topology\'s metadata, what was imported, the data path and the warnings.',
      headers: { Location: Location, ETag: ETag },
      content: {
        'application/json': {
          schema: ImportAnswer,
          examples: { flannelHostGw: { $ref: '#/components/examples/KubectlFlannelHostGwImported' } },
        },
      },
    },
    400: ImportBadRequest,
    409: Conflict,
    413: PayloadTooLarge,
    503: Busy,
    415: UnsupportedMediaType,
    422: ImportUnprocessable,
  },
};

const putKubernetesImportDoc = {
  tags: ['import'],
  operationId: 'putKubernetesImport',
  summary: 'Create or replace a topology from what kubectl prints',
  description: importDescription,
  'x-request-body': importBody,
  response: {
    200: {
      description: 'Replaced; the answer describes the new revision and what was imported.',
      headers: { ETag: ETag },
      content: {
        'application/json': {
          schema: ImportAnswer,
          examples: { givenAsBridge: { $ref: '#/components/examples/KubectlFlannelHostGwAsBridge' } },
        },
      },
    },
    201: {
      description: 'Created as revision 1.',
      headers: { Location: Location, ETag: ETag },
      content: {
        'application/json': {
          schema: ImportAnswer,
          examples: { flannelHostGw: { $ref: '#/components/examples/KubectlFlannelHostGwImported' } },
        },
      },
    },
    400: ImportBadRequest,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    503: Busy,
    415: UnsupportedMediaType,
    422: ImportUnprocessable,
  },
};

/**
 * The List imported by a worker. A large body reaches the route unread (LargeJson): the worker scans, parses and
 * validates it as the HTTP layer does a smaller one, so that tens of MB never hold the event loop.
 */
function runImport(request: FastifyRequest, query: Static<typeof ImportQuery>): Promise<Imported> {
  const unread = request.body instanceof LargeJson ? request.body : undefined;
  const text = unread?.bytes ?? request.jsonText!;
  return request.server.work.run('import', [], { text, validate: unread !== undefined, ...query }, { heavy: unread !== undefined, transfer: unread && [unread.bytes.buffer] });
}

export default async function importRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = app;
  const path = '/topologies/:name/import/kubernetes';

  app.post(
    path,
    { schema: { ...importKubernetesDoc, params: ImportParams, querystring: ImportQuery, body: KubernetesImportBody }, config: { largeJson: true } },
    async (request, reply) => {
      const { name } = request.params;
      const imported = await runImport(request, request.query);
      const meta = await store.create(toInput(name, imported));
      await app.work.warm(meta.name, meta.revision, meta.summary.netns);
      return reply.code(201).header('location', location(name)).header('etag', etag(meta.revision)).send(answer(meta, imported));
    },
  );

  app.put(
    path,
    {
      schema: { ...putKubernetesImportDoc, params: ImportParams, querystring: ImportQuery, headers: WriteHeaders, body: KubernetesImportBody },
      config: { largeJson: true },
    },
    async (request, reply) => {
      const { name } = request.params;
      const ifMatch = parseIfMatch(request.headers['if-match']);
      const ifNoneMatch = request.headers['if-none-match'];
      if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
        throw new Problem(400, 'invalid-request', 'on a write, If-None-Match can only be * (create, do not replace)');
      }
      const imported = await runImport(request, request.query);
      const { meta, created } = await store.put(toInput(name, imported), ifMatch, ifNoneMatch !== undefined);
      await app.work.warm(meta.name, meta.revision, meta.summary.netns);
      if (created) reply.code(201).header('location', location(name));
      return reply.header('etag', etag(meta.revision)).send(answer(meta, imported));
    },
  );
}
