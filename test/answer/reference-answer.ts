// The trace answer as src/answer/trace-answer.ts first built it, each optional part spread into an object literal:
// plain to read and slow to run. Kept for the tests only, which hold the fast builder to its bytes (the ECMP part is
// the builder's own: it was always one object).
import type { CompiledTopology, Endpoint } from '../../src/engine/topology.js';
import { explain } from '../../src/answer/explain.js';
import { worstPath, type Trace } from '../../src/engine/trace.js';
import { hashedBranch, IP_PROTOCOL } from '../../src/engine/multipath.js';
import { mtuReport } from '../../src/engine/mtu.js';
import { replacementNote, untranslatedNotes } from '../../src/engine/service/resolve.js';
import { DEFAULT_PATHS, ecmpAnswer, type AnswerOptions, type FlowRequest } from '../../src/answer/trace-answer.js';

export function referenceAnswer(
  compiled: CompiledTopology,
  topology: { name: string; revision: number },
  flow: FlowRequest,
  { from, to }: { from: Endpoint; to: Endpoint },
  t: Trace,
  options: AnswerOptions = {},
): object {
  const { detail = 'full', paths: listed = DEFAULT_PATHS, printed = false } = options;
  const protocol = t.flow.protocol ?? flow.protocol ?? 'icmp';
  const dstPort = t.flow.dstPort ?? flow.dstPort;
  const explained = explain(compiled.fabric, t, { from: from.name, to: to.name }, { detail, paths: listed, printed });
  const family = t.flow.dst.family;
  const { srcPort } = flow;
  const endpoint = (e: Endpoint, address: string) => ({ name: e.name, kind: e.kind, netns: e.netns?.name ?? null, address });
  const answer = {
    topology,
    flow: {
      src: t.flow.src.toString(),
      dst: t.flow.dst.toString(),
      protocol,
      ...(srcPort !== undefined ? { srcPort } : {}),
      ...(flow.dstPort !== undefined ? { dstPort } : {}),
      ...(flow.port !== undefined ? { port: dstPort } : {}),
      ...(flow.size !== undefined ? { size: flow.size } : {}),
      ttl: t.flow.ttl,
    },
    source: endpoint(from, t.flow.src.toString()),
    destination: endpoint(to, t.flow.dst.toString()),
    disposition: explained.disposition,
    summary: explained.summary,
    ...(t.paths.length > 1 ? { pathCount: t.paths.length } : {}),
  };
  if (detail === 'summary') return answer;
  const mtuOf = (i: number) => {
    const mtu = mtuReport(t.paths[i]!.hops, family, flow.size, detail === 'full');
    return mtu === undefined ? {} : { mtu };
  };
  const ipProtocol = protocol === 'icmp' ? (family === 4 ? IP_PROTOCOL.icmp : IP_PROTOCOL.icmpv6) : IP_PROTOCOL[protocol];
  const hashed = hashedBranch(t, { protocol: ipProtocol, srcPort: srcPort ?? 0, dstPort: dstPort ?? 0 });
  const visited = new Set(t.paths.flatMap((p) => p.hops.map((h) => h.netns)));
  const omitted = t.paths.length - (explained.paths?.length ?? t.paths.length);
  return {
    ...answer,
    hops: explained.hops,
    ...mtuOf(worstPath(t.paths)),
    ...(explained.paths ? { paths: explained.paths.map((p, i) => ({ ...p, ...mtuOf(i) })) } : {}),
    ...(omitted > 0 ? { pathsOmitted: omitted } : {}),
    ...(hashed
      ? {
          // Its own object, built as it always was (trace-answer.ts).
          ecmp: ecmpAnswer(hashed),
        }
      : {}),
    notes: [
      ...[...visited].flatMap((ns) => ns.ignored.map((note) => `${ns.name}: ${note}`)),
      ...(t.paths.some((p) => p.hops.some((h) => h.steps.some((s) => s.type === 'DNAT')))
        ? replacementNote(compiled.services)
        : untranslatedNotes(compiled.services, t.flow.dst, protocol, dstPort)),
    ],
  };
}
