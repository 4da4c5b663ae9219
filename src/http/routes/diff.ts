// GET /v1/topologies/{name}/diff: what changed between two revisions — nodes, pods, namespaces, links and routes — and
// which pod pairs changed outcome: the question an operator asks after a change. The route reads the two revisions and
// refuses a diff too large before compiling them; the answer itself is src/answer/diff.ts.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CloneType, Type } from '@sinclair/typebox';
import { Port, Protocol } from './traces.schemas.js';
import { DiffAnswer, PodFilter } from '../../answer/diff.js';
import { transportOf } from '../../answer/matrix.js';
import { sendEncoded } from '../work.js';
import { Problem } from '../problem.js';
import { BadRequest, NotFound, problemResponse, Busy } from '../responses.js';
import { NameParams } from './topologies.schemas.js';
import { MAX_REVISION } from './topologies.schemas.js';


const diffRevisionsDoc = {
  tags: ['topologies'],
  operationId: 'diffRevisions',
  summary: 'What changed between two revisions',
  description: 'Compares two revisions (`from`, default the one before `to`; `to`, default the newest): nodes and pods (for cluster\n' +
    'documents), namespaces, links and routes (of the fabrics both compile to), and the outcome of every ordered pair of\n' +
    'the pods present in both: the pairs whose disposition changed (listed up to 1,000; `changedCount` is exact).\n' +
    '`namespace` and `node` limit the pairs compared to the pods of one namespace or node (`reachability.filter` then\n' +
    'says so); the changes listed are always the whole topology\'s. The pairs of at most 5,000 pods are compared: beyond\n' +
    'that the answer is a 413 problem document, found from the stored documents before anything is compiled, that asks\n' +
    'for a namespace or a node. Routes are listed until 10,000 are (`changes.routesOmitted` counts the netns left out).\n' +
    'The pairs are compared for ICMP echo unless `protocol` (and `port`) say otherwise: a NetworkPolicy change shows for\n' +
    'the protocol and port its rules name.\n',
  response: {
    200: {
      description: 'The differences.',
      content: {
        'application/json': {
          schema: DiffAnswer,
          example: {
            topology: 'two-nodes',
            from: 1,
            to: 2,
            changes: {
              nodes: { added: [], removed: [], changed: ['node-b'] },
              pods: { added: [], removed: ['default/pod-a2'], changed: ['default/pod-b1'] },
              netns: {
                added: [],
                removed: ['default/pod-a2'],
                changed: ['default/pod-b1', 'node-a', 'node-b'],
              },
              links: [
                { netns: 'node-a', link: 'veth6f99aef2', change: 'removed' },
                { netns: 'node-b', link: 'cbr0', change: 'changed' },
                { netns: 'default/pod-b1', link: 'eth0', change: 'changed' },
              ],
              routes: [
                {
                  netns: 'node-a',
                  added: ['{"dst":"10.1.3.0/24","gateway":"192.168.0.12","dev":"eth0"}'],
                  removed: ['{"dst":"10.1.2.0/24","gateway":"192.168.0.12","dev":"eth0"}'],
                },
                {
                  netns: 'default/pod-b1',
                  added: ['{"dst":"default","gateway":"10.1.3.1","dev":"eth0"}'],
                  removed: ['{"dst":"default","gateway":"10.1.2.1","dev":"eth0"}'],
                },
              ],
            },
            reachability: { pods: 3, changedCount: 0, changed: [] },
          },
        },
      },
    },
    400: BadRequest,
    404: NotFound,
    503: Busy,
    413: problemResponse(
      'More than 5,000 pods in both revisions (and matching the filter); filter by namespace or node.',
      {
        type: 'urn:pathtrace:problem:payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: '7000 pods are in both revisions: a diff compares the pairs of at most 5000; ask for the pods of one namespace or node (namespace=, node=)',
        instance: '/v1/topologies/prod/diff',
      },
    ),
  },
};

export default async function diffRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/topologies/:name/diff',
    {
      schema: {
        ...diffRevisionsDoc,
        params: NameParams,
        querystring: Type.Object(
          {
            from: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, examples: [1] })),
            to: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, examples: [2] })),
            ...PodFilter.properties,
            protocol: Type.Optional(CloneType(Protocol, { description: 'The protocol of the flows compared (default icmp): NetworkPolicy rules match on it.', examples: ['tcp'] })),
            port: Type.Optional(CloneType(Port, { description: 'Their destination port; with `protocol=tcp`, `udp` or `sctp` (400 otherwise).', examples: [5432] })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { from: asked, to: wanted, ...filter } = request.query;
      transportOf(filter.protocol, filter.port, { parameter: 'port' });
      const newest = (await app.store.head(name)).revision;
      const to = wanted ?? newest;
      const from = asked ?? to - 1;
      if (from < 1) throw new Problem(400, 'invalid-request', `${name} has one revision: there is nothing to compare it with`);
      const answer = await app.work.run('diff', [{ name, revision: from }, { name, revision: to }], filter, { documents: true });
      return sendEncoded(reply, answer);
    },
  );
}
