// POST /v1/topologies/{name}/traces: many flows in one answer (dashboards), optionally there and back.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CompiledTopology } from '../../engine/topology.js';
import type { TraceAnswer } from '../../answer/schema.js';
import { Problem, problemBody } from '../problem.js';
import { BadRequest, NotFound, problemResponse } from '../responses.js';
import type { FlowRequest } from '../../answer/trace-answer.js';
import { answerFlow } from '../flow.js';
import { visible } from '../../render/escape.js';
import { BatchAnswer, BatchBody, BatchParams, BatchQuery, MAX_FLOWS, type BatchItem } from './traces.schemas.js';


type Item = Static<typeof BatchItem>;

/** The flow back: from the destination to the source, the ports swapped. */
function reversed(flow: FlowRequest, from: string, to: string): FlowRequest {
  const { port, srcPort, dstPort, ...rest } = flow;
  const there = dstPort ?? port;
  return { ...rest, from, to, ...(there !== undefined ? { srcPort: there } : {}), ...(srcPort !== undefined ? { dstPort: srcPort } : {}) };
}

const routed = (a: Pick<TraceAnswer, 'hops'>) => a.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).map((h) => h.netns);

export function traceFlows(compiled: CompiledTopology, topology: { name: string; revision: number }, flows: FlowRequest[], bidirectional: boolean) {
  const byDisposition: Record<string, number> = {};
  let errors = 0;
  const attempt = (flow: FlowRequest): { trace: Omit<TraceAnswer, 'topology'> } | { error: ReturnType<typeof problemBody> } => {
    try {
      const { topology: _, ...trace } = answerFlow(compiled, topology, flow);
      return { trace };
    } catch (err) {
      if (err instanceof Problem) return { error: problemBody(err) };
      throw err;
    }
  };
  const traces = flows.map((flow): Item => {
    const there = attempt(flow);
    if ('error' in there) {
      errors++;
      return { flow, error: there.error };
    }
    byDisposition[there.trace.disposition] = (byDisposition[there.trace.disposition] ?? 0) + 1;
    if (!bidirectional) return { flow, trace: there.trace };
    const dst = there.trace.destination;
    if (dst.netns === null) return { flow, trace: there.trace, return: null };
    const back = attempt(reversed(flow, dst.name, there.trace.source.name));
    if ('error' in back) return { flow, trace: there.trace, return: null, returnError: back.error };
    const forth = routed(there.trace);
    const returned = routed(back.trace).reverse();
    return {
      flow,
      trace: there.trace,
      return: back.trace,
      asymmetric: forth.join('\n') !== returned.join('\n'),
      returnFails: (there.trace.disposition === 'DELIVERED') !== (back.trace.disposition === 'DELIVERED'),
    };
  });
  return { topology, count: { flows: flows.length, errors, byDisposition }, traces };
}

const traceBatchDoc = {
  tags: ['traces'],
  operationId: 'traceBatch',
  summary: 'Trace many flows at once',
  description: 'Traces up to 10,000 flows through one revision in one answer (for dashboards). Each flow takes the query\n' +
    'parameters of a single trace (`from`, `to`, `protocol`, `srcPort`, `dstPort` or `port`, `family`, `size`, `ttl`)\n' +
    'and is answered as one. A flow that cannot be traced (an unknown name, say) gets an `error` problem document in its\n' +
    'place and does not fail the others. With `bidirectional`, every flow is also traced back from its destination\n' +
    '(with the ports swapped), and `asymmetric` (the way back crosses other namespaces) and `returnFails` (delivered one\n' +
    'way only) are flagged. `format=text` (or `Accept: text/plain`) gives one summary line per flow.\n',
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
    413: problemResponse(
      'More than 10,000 flows, or a body over the size limit.',
      {
        type: 'urn:pathtrace:problem:payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: '10001 flows in one request; the limit is 10000: split the batch',
        instance: '/v1/topologies/two-nodes/traces',
      },
    ),
  },
};

export default async function tracesRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/topologies/:name/traces',
    { schema: { ...traceBatchDoc, params: BatchParams, querystring: BatchQuery, body: BatchBody } },
    async (request, reply) => {
      const { flows, bidirectional, revision: wanted } = request.body;
      if (flows.length > MAX_FLOWS) {
        throw new Problem(413, 'payload-too-large', `${flows.length} flows in one request; the limit is ${MAX_FLOWS}: split the batch`);
      }
      const { name } = request.params;
      const { revision, compiled } = await app.compiled.get(name, wanted);
      const answer = traceFlows(compiled, { name, revision }, flows, bidirectional ?? false);
      app.metrics.traced(answer.count.byDisposition);
      const text = request.query.format === 'text' || (request.query.format === undefined && /^text\/plain/.test(request.headers.accept ?? ''));
      if (!text) return answer;
      // Names reach a terminal here: their control characters are shown, never sent as they are.
      const lines = answer.traces.map((t, i) => {
        const head = `${i + 1}. ${visible(t.trace ? t.trace.summary : `ERROR ${t.flow.from} → ${t.flow.to}: ${t.error!.detail}`)}`;
        return t.return ? `${head}\n   back: ${visible(t.return.summary)}${t.asymmetric ? ' (asymmetric)' : ''}` : head;
      });
      // The response schema types JSON answers; the text form bypasses it.
      return (reply as FastifyReply).type('text/plain; charset=utf-8').send(`${lines.join('\n')}\n`);
    },
  );
}
