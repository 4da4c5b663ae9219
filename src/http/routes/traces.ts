// POST /v1/topologies/{name}/traces: many flows in one answer (dashboards), optionally there and back.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Problem } from '../problem.js';
import { sendEncoded } from '../work.js';
import { ANSWER_TOO_LARGE, answerTooLargeExample, BadRequest, NotFound, problemResponse, Busy } from '../responses.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../../answer/size.js';
import { BatchAnswer, BatchBody, BatchParams, BatchQuery } from './traces.schemas.js';
import { checkFlowCount } from '../../answer/batch.js';
import { LargeJson } from '../json-body.js';
import type { JobArgs } from '../../work/jobs.js';
import { NotFoundError } from '../../store/errors.js';

const traceBatchDoc = {
  tags: ['traces'],
  operationId: 'traceBatch',
  summary: 'Trace many flows at once',
  description: 'Traces up to 10,000 flows through one revision in one answer (for dashboards). Each flow takes the query\n' +
    'parameters of a single trace (`from`, `to`, `protocol`, `srcPort`, `dstPort` or `port`, `family`, `size`, `ttl`,\n' +
    '`endpoint`, `enter`, `src`; `to` may be `svc/<namespace>/<name>`) and is answered as one. A flow that cannot be\n' +
    'traced (an unknown name, say) gets an `error` problem document in its place and does not fail the others. With\n' +
    '`bidirectional`, every flow is also traced back from its destination (with the ports swapped), and `asymmetric`\n' +
    '(the way back crosses other namespaces) and `returnFails` (delivered one way only) are flagged. A flow kube-proxy\n' +
    'DNATed is traced back from the endpoint its shown path took, to the client as the endpoint saw it (the masquerade\n' +
    'address, then on from that node to the client, when the request was masqueraded); an `UNNAT` step in the node\n' +
    'that translated the request says how conntrack rewrites the reply (its source back to the Service address and\n' +
    'port; its destination back to the client); a reply that does not pass that node fails (`returnFails`), with a note.\n' +
    'A flow the data path masqueraded on its way out (an `egress` SNAT: flannel, Calico natOutgoing, Cilium, kindnet,\n' +
    'ip-masq-agent, the AWS VPC CNI) is traced back to the node\'s address it left with (from where it left the model,\n' +
    'for an outside destination), un-NATed there (an `UNNAT` step with `dst` only) and on to the pod.\n' +
    '`format=text` (or `Accept: text/plain`) gives one summary line per flow.\n' +
    '\n' +
    '`detail` says how much each trace holds (`hops`: no prose, `summary`: no hops) and `paths` how many paths of a\n' +
    'flow that ECMP splits it lists, as in the single trace. The answer is bounded: as soon as the traces made so far\n' +
    'would pass the service\'s limit (`MAX_ANSWER_BYTES`, 32 MiB unless configured), the batch stops there and is\n' +
    'answered 422 `urn:pathtrace:problem:answer-too-large`, saying how many flows fit.\n',
  'x-request-body': {
    content: {
      'application/json': {
        examples: {
          dashboard: {
            summary: 'Three flows, there and back',
            value: {
              bidirectional: true,
              flows: [
                { from: 'pod-a1', to: 'pod-b1' },
                { from: 'pod-a1', to: '10.1.2.99' },
                {
                  from: 'node-a',
                  to: 'pod-a2',
                  protocol: 'tcp',
                  srcPort: 40000,
                  dstPort: 443,
                  size: 1500,
                },
              ],
            },
          },
        },
      },
    },
  },
  response: {
    200: {
      description: 'Every flow\'s trace (or why it could not be traced), in order, with counts by disposition.',
      content: {
        'application/json': {
          schema: BatchAnswer,
          example: {
            topology: { name: 'two-nodes', revision: 1 },
            count: { flows: 2, errors: 1, byDisposition: { DELIVERED: 1 } },
            traces: [
              {
                flow: { from: 'pod-a1', to: 'pod-a2' },
                trace: {
                  flow: { src: '10.1.1.2', dst: '10.1.1.3', protocol: 'icmp', ttl: 64 },
                  source: { name: 'default/pod-a1', kind: 'pod', netns: 'default/pod-a1', address: '10.1.1.2' },
                  destination: { name: 'default/pod-a2', kind: 'pod', netns: 'default/pod-a2', address: '10.1.1.3' },
                  disposition: 'DELIVERED',
                  summary: 'DELIVERED: default/pod-a1 (10.1.1.2) → default/pod-a2 (10.1.1.3) via default/pod-a1 → node-a → default/pod-a2',
                  hops: [
                    {
                      netns: 'default/pod-a1',
                      kind: 'pod',
                      steps: [
                        {
                          type: 'ORIGINATE',
                          explanation: 'default/pod-a1 sends a packet from 10.1.1.2 to 10.1.1.3 (TTL 64)',
                          src: '10.1.1.2',
                          dst: '10.1.1.3',
                          ttl: 64,
                        },
                        {
                          type: 'ROUTE',
                          explanation: '10.1.1.0/24 dev eth0 is the longest prefix that contains 10.1.1.3 (/24 beats default /0)',
                          table: 'main',
                          route: { dst: '10.1.1.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' },
                          candidates: [
                            {
                              route: { dst: 'default', gateway: '10.1.1.1', dev: 'eth0' },
                              why: 'shorter prefix (default /0 loses to /24)',
                            },
                          ],
                        },
                        {
                          type: 'TRANSMIT',
                          explanation: 'default/pod-a1 sends the packet out of eth0 to the next hop 10.1.1.3; default/pod-a2 eth0 owns it',
                          link: 'eth0',
                          neighbor: '10.1.1.3',
                          answeredBy: { netns: 'default/pod-a2', link: 'eth0' },
                        },
                      ],
                      node: 'node-a',
                      out: 'eth0',
                    },
                    {
                      netns: 'node-a',
                      kind: 'node',
                      steps: [
                        {
                          type: 'BRIDGE',
                          explanation: 'cbr0 switches the frame from port veth6e99ad5f to port veth6f99aef2 at layer 2, without a route lookup in node-a',
                          bridge: 'cbr0',
                          from: 'veth6e99ad5f',
                          to: 'veth6f99aef2',
                        },
                      ],
                      in: 'veth6e99ad5f',
                      out: 'veth6f99aef2',
                    },
                    {
                      netns: 'default/pod-a2',
                      kind: 'pod',
                      steps: [
                        {
                          type: 'RECEIVE',
                          explanation: 'default/pod-a2 receives the packet on eth0 (TTL 64)',
                          link: 'eth0',
                          ttl: 64,
                        },
                        {
                          type: 'DELIVER',
                          explanation: '10.1.1.3 is an address of default/pod-a2 (on eth0): the local table, looked up before the main table, delivers it locally',
                          link: 'eth0',
                          address: '10.1.1.3',
                        },
                      ],
                      node: 'node-a',
                      in: 'eth0',
                    },
                  ],
                  notes: [],
                },
              },
              {
                flow: { from: 'pod-a1', to: 'nope' },
                error: {
                  type: 'urn:pathtrace:problem:unknown-endpoint',
                  title: 'No such endpoint in the topology',
                  status: 404,
                  detail: 'there is no pod, node or netns named nope in this topology',
                  errors: [
                    { parameter: 'to', detail: 'there is no pod, node or netns named nope in this topology' },
                  ],
                },
              },
            ],
          },
        },
        'text/plain': {
          schema: { type: 'string' },
          example: '1. DELIVERED: default/pod-a1 (10.1.1.2) → default/pod-b1 (10.1.2.2) via default/pod-a1 → node-a → node-b → default/pod-b1\n' +
            '2. ERROR pod-a1 → nope: there is no pod, node or netns named nope in this topology\n',
        },
      },
    },
    400: BadRequest,
    404: NotFound,
    503: Busy,
    413: problemResponse(
      'More than 10,000 flows, or a body over 4 MB (4,194,304 bytes; about 10,000 flows of ordinary names take 1 MB).',
      {
        type: 'urn:pathtrace:problem:payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: '10001 flows in one request; the limit is 10000: split the batch',
        instance: '/v1/topologies/two-nodes/traces',
      },
    ),
    422: problemResponse(
      ANSWER_TOO_LARGE,
      answerTooLargeExample(
        '/v1/topologies/ring/traces',
        'the answer would be larger than the limit of 33554432 bytes (MAX_ANSWER_BYTES): the first 223 of 1000 flows took ' +
          '33456690 bytes, and flow 224 (r0 → 10.99.0.1) would pass it; ask for less: detail=hops (no prose) or ' +
          'detail=summary (no hops), or fewer paths per trace (paths=1), or fewer flows per request (223 fit)',
      ),
    ),
  },
};

/** The largest batch body, in bytes: 10,000 flows of ordinary names take ~1 MB. */
export const BATCH_BODY_LIMIT = 4 * 2 ** 20;

/**
 * A batch body past this many bytes is read by a worker: parsing and validating 10,000 flows (~1 MB) took ~40 ms of
 * the event loop.
 */
const LIGHT_BATCH = 128 * 1024;

export default async function tracesRoutes(plain: FastifyInstance, options: { maxAnswerBytes?: number }) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;

  app.post(
    '/topologies/:name/traces',
    { schema: { ...traceBatchDoc, params: BatchParams, querystring: BatchQuery, body: BatchBody }, bodyLimit: BATCH_BODY_LIMIT, config: { largeJson: LIGHT_BATCH } },
    async (request, reply) => {
      const { format, detail, paths } = request.query;
      const text = format === 'text' || (format === undefined && /^text\/plain/.test(request.headers.accept ?? ''));
      const { name } = request.params;
      // The text form is the summary lines: nothing more is made for it.
      const options = { detail: text ? 'summary' as const : detail, paths, maxBytes };
      const asked = { options, format: text ? 'text' as const : 'json' as const };
      let args: JobArgs<'batch'>;
      let wanted: number | undefined;
      const unread: unknown = request.body;
      if (unread instanceof LargeJson) {
        // A worker reads the body on the newest revision, and traces it there unless it names another.
        args = { ...asked, text: unread.bytes };
      } else {
        const { flows, bidirectional, revision } = request.body;
        checkFlowCount(flows.length);
        wanted = revision;
        args = { ...asked, flows, bidirectional };
      }
      let answer;
      try {
        answer = await app.work.run('batch', [{ name, revision: wanted }], args);
      } catch (err) {
        // A body that is not a batch is refused first, as Fastify refuses a small one before the route looks anything up.
        if (err instanceof NotFoundError && unread instanceof LargeJson) await app.work.run('batch', [], args);
        throw err;
      }
      if ('names' in answer) answer = await app.work.run('batch', [{ name, revision: answer.names.revision }], { ...args, read: true });
      if ('names' in answer) throw new Error('a batch given the revision it names asked for it again');
      app.metrics.traced(answer.byDisposition);
      return sendEncoded(reply, answer);
    },
  );
}
