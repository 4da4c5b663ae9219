// GET /v1/topologies/{name}/trace: what happens to a packet from one endpoint to another.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { EndpointError, type Endpoint } from '../../engine/topology.js';
import { explain } from '../../engine/explain.js';
import { Problem } from '../problem.js';
import { TraceAnswer, TraceParams, TraceQuery } from './trace.schemas.js';
import { sendAnswer, type Format } from '../formats.js';

function endpointProblem(err: EndpointError, parameter: 'from' | 'to'): Problem {
  const status = err.reason === 'unknown' ? 404 : 400;
  const slug = err.reason === 'unknown' ? 'unknown-endpoint' : err.reason === 'ambiguous' ? 'ambiguous-endpoint' : 'invalid-request';
  return new Problem(status, slug, err.message, {
    errors: [{ parameter, detail: err.message }],
    ...(err.candidates.length > 0 ? { candidates: err.candidates } : {}),
  });
}

export default async function traceRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/topologies/:name/trace',
    { schema: { params: TraceParams, querystring: TraceQuery, response: { 200: TraceAnswer } } },
    async (request, reply) => {
      const { name } = request.params;
      const q = request.query;
      if (q.port !== undefined && q.protocol === 'icmp') {
        throw new Problem(400, 'invalid-request', 'port goes with protocol=tcp or protocol=udp', {
          errors: [{ parameter: 'port', detail: 'needs protocol tcp or udp' }],
        });
      }
      const { revision, compiled } = await app.compiled.get(name, q.revision);
      const resolve = (text: string, role: 'source' | 'destination', parameter: 'from' | 'to'): Endpoint => {
        try {
          return compiled.resolve(text, role);
        } catch (err) {
          if (err instanceof EndpointError) throw endpointProblem(err, parameter);
          throw err;
        }
      };
      const from = resolve(q.from, 'source', 'from');
      const to = resolve(q.to, 'destination', 'to');
      let t;
      try {
        t = compiled.trace(from, to, q.ttl);
      } catch (err) {
        if (err instanceof EndpointError) throw endpointProblem(err, 'to');
        throw err;
      }
      const report = explain(compiled.fabric, t, { from: from.name, to: to.name });
      const visited = new Set(t.paths.flatMap((p) => p.hops.map((h) => h.netns)));
      const endpoint = (e: Endpoint, address: string) => ({ name: e.name, kind: e.kind, netns: e.netns?.name ?? null, address });
      const answer = {
        topology: { name, revision },
        flow: {
          src: t.flow.src.toString(),
          dst: t.flow.dst.toString(),
          protocol: q.protocol,
          ...(q.port !== undefined ? { port: q.port } : {}),
          ttl: t.flow.ttl,
        },
        source: endpoint(from, t.flow.src.toString()),
        destination: endpoint(to, t.flow.dst.toString()),
        disposition: report.disposition,
        summary: report.summary,
        hops: report.hops,
        ...(report.paths ? { paths: report.paths } : {}),
        notes: [...visited].flatMap((ns) => ns.ignored.map((note) => `${ns.name}: ${note}`)),
      };
      return sendAnswer(request, reply, answer, q.format as Format | undefined);
    },
  );
}
