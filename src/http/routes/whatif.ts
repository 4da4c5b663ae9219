// POST /v1/traces: what-if. Traces flows through a topology given inline, or through a stored one with changes on top,
// and stores nothing.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { JobResult } from '../../work/jobs.js';
import { sendEncoded } from '../work.js';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WhatIfAnswer, WhatIfBody, WhatIfQuery, type WhatIfBodyDoc } from './whatif.schemas.js';
import { checkWhatIf } from '../../answer/whatif.js';
import { LargeJson } from '../json-body.js';
import { DEFAULT_MAX_ANSWER_BYTES } from '../../answer/size.js';
import { ANSWER_TOO_LARGE, answerTooLargeExample, BadRequest, NotFound, problemResponse, Busy } from '../responses.js';


const traceWhatIfDoc = {
  tags: ['traces'],
  operationId: 'traceWhatIf',
  summary: 'What if? Trace flows without storing anything',
  description: 'Traces flows through a topology given inline (`topology: {cluster | fabric}`), or through a stored one (`base`, at\n' +
    '`revision` or the newest) with changes on top: an RFC 7396 JSON merge patch of its document (`patch`), and/or a list\n' +
    'of `changes` (add-route, delete-route, link-down, link-up, forwarding) applied to the fabric it compiles to. The\n' +
    'answer is that of the batch endpoint, with its `detail` and `paths` parameters and its bound on the answer\'s\n' +
    'size (422 `urn:pathtrace:problem:answer-too-large`); nothing is stored.\n',
  'x-request-body': {
    content: {
      'application/json': {
        examples: {
          changes: {
            summary: 'What if node-a lost its route to node-b\'s pods?',
            value: {
              base: 'two-nodes',
              changes: [{ op: 'delete-route', netns: 'node-a', dst: '10.1.2.0/24' }],
              flows: [{ from: 'pod-a1', to: 'pod-b1' }, { from: 'pod-b1', to: 'pod-a1' }],
            },
          },
          patch: {
            summary: 'What if the nodes had a default route to an upstream router?',
            value: {
              base: 'two-nodes',
              patch: { cluster: { network: { cidr: '192.168.0.0/24', gateway: '192.168.0.1' } } },
              flows: [{ from: 'pod-a1', to: '8.8.8.8' }],
            },
          },
        },
      },
    },
  },
  response: {
    200: {
      description: 'Every flow\'s trace through the changed topology.',
      content: {
        'application/json': {
          schema: WhatIfAnswer,
          example: {
            base: { name: 'two-nodes', revision: 1 },
            count: { flows: 1, errors: 0, byDisposition: { NO_ROUTE: 1 } },
            traces: [
              {
                flow: { from: 'pod-a1', to: 'pod-b1' },
                trace: {
                  flow: { src: '10.1.1.2', dst: '10.1.2.2', protocol: 'icmp', ttl: 64 },
                  source: { name: 'default/pod-a1', kind: 'pod', netns: 'default/pod-a1', address: '10.1.1.2' },
                  destination: { name: 'default/pod-b1', kind: 'pod', netns: 'default/pod-b1', address: '10.1.2.2' },
                  disposition: 'NO_ROUTE',
                  summary: 'NO_ROUTE at node-a: default/pod-a1 (10.1.1.2) → default/pod-b1 (10.1.2.2) via default/pod-a1 → node-a: node-a has no route for the destination: the packet is dropped (Network is unreachable)',
                  hops: [
                    {
                      netns: 'default/pod-a1',
                      kind: 'pod',
                      steps: [
                        {
                          type: 'ORIGINATE',
                          explanation: 'default/pod-a1 sends a packet from 10.1.1.2 to 10.1.2.2 (TTL 64)',
                          src: '10.1.1.2',
                          dst: '10.1.2.2',
                          ttl: 64,
                        },
                        {
                          type: 'ROUTE',
                          explanation: 'default via 10.1.1.1 dev eth0 is the longest prefix that contains 10.1.2.2: no other route in default/pod-a1\'s main table does',
                          table: 'main',
                          route: { dst: 'default', gateway: '10.1.1.1', dev: 'eth0' },
                          candidates: [],
                        },
                        {
                          type: 'TRANSMIT',
                          explanation: 'default/pod-a1 sends the packet out of eth0 to the next hop 10.1.1.1; node-a cbr0 owns it',
                          link: 'eth0',
                          neighbor: '10.1.1.1',
                          answeredBy: { netns: 'node-a', link: 'cbr0' },
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
                          explanation: 'cbr0 passes the frame from port veth6e99ad5f up to node-a\'s own IP stack: it is addressed to the bridge',
                          bridge: 'cbr0',
                          from: 'veth6e99ad5f',
                          to: null,
                        },
                        {
                          type: 'RECEIVE',
                          explanation: 'node-a receives the packet on cbr0 (TTL 64)',
                          link: 'cbr0',
                          ttl: 64,
                        },
                        {
                          type: 'ROUTE',
                          explanation: 'no route in node-a\'s main table contains 10.1.2.2, and there is no default route',
                          table: 'main',
                          route: null,
                          candidates: [],
                        },
                        {
                          type: 'DROP',
                          explanation: 'node-a has no route for the destination: the packet is dropped (Network is unreachable)',
                          disposition: 'NO_ROUTE',
                        },
                      ],
                      in: 'veth6e99ad5f',
                    },
                  ],
                  notes: [],
                },
              },
            ],
          },
        },
      },
    },
    400: BadRequest,
    404: NotFound,
    503: Busy,
    413: problemResponse(
      'More than 10,000 flows, or a body over the size limit.',
      {
        type: 'urn:pathtrace:problem:payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: '10001 flows in one request; the limit is 10000: split the batch',
        instance: '/v1/traces',
      },
    ),
    422: problemResponse(
      'The changed topology is not consistent (`urn:pathtrace:problem:invalid-topology`: the errors point into the\n' +
        'changes or the patched document), or (`urn:pathtrace:problem:answer-too-large`) ' + ANSWER_TOO_LARGE,
      {
        examples: {
          invalidTopology: {
            summary: 'A change names a netns the topology does not have',
            value: {
              type: 'urn:pathtrace:problem:invalid-topology',
              title: 'The topology is not consistent',
              status: 422,
              detail: '1 of the changes do not apply to the topology',
              instance: '/v1/traces',
              errors: [{ pointer: '/changes/0/netns', detail: 'there is no netns named node-z; did you mean node-a, node-b?' }],
            },
          },
          answerTooLarge: {
            summary: 'A thousand flows that ECMP splits 64 ways each, in full',
            value: answerTooLargeExample(
              '/v1/traces',
              'the answer would be larger than the limit of 33554432 bytes (MAX_ANSWER_BYTES): the first 223 of 1000 flows took ' +
                '33456690 bytes, and flow 224 (r0 → 10.99.0.1) would pass it; ask for less: detail=hops (no prose) or ' +
                'detail=summary (no hops), or fewer paths per trace (paths=1), or fewer flows per request (223 fit)',
            ),
          },
        },
      },
    ),
  },
};

export default async function whatIfRoutes(plain: FastifyInstance, options: { maxAnswerBytes?: number }) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const maxBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;

  const answerWhatIf = (reply: FastifyReply, answer: Exclude<JobResult<'whatIf'>, { needs: unknown }>) => {
    app.metrics.traced(answer.byDisposition);
    return sendEncoded(reply, answer);
  };

  app.post('/traces', { schema: { ...traceWhatIfDoc, querystring: WhatIfQuery, body: WhatIfBody }, config: { largeJson: true } }, async (request, reply) => {
    // A large body reaches the route unread (LargeJson): the worker reads, validates and checks it (checkWhatIf), and
    // names the stored base it needs; a second job is given that base, whose document its worker reads itself.
    const unread: unknown = request.body;
    const large = unread instanceof LargeJson;
    // The bytes are copied to the worker, not transferred: a what-if on a stored base sends them twice.
    const text = large ? unread.bytes : request.jsonText!;
    const options = { ...request.query, maxBytes };
    let ref: { name: string; revision?: number } | undefined;
    if (large) {
      const first = await app.work.run('whatIf', [], { text, validate: true, options }, { heavy: true });
      if (!('needs' in first)) return answerWhatIf(reply, first);
      ref = first.needs;
    } else {
      const body = request.body as WhatIfBodyDoc;
      checkWhatIf(body);
      if (body.base !== undefined) ref = { name: body.base, revision: body.revision };
    }
    const answer = await app.work.run('whatIf', ref === undefined ? [] : [ref], { text, validate: large, options }, { heavy: large, documents: true });
    if ('needs' in answer) throw new Error('a what-if given its base asked for it again');
    return answerWhatIf(reply, answer);
  });
}
