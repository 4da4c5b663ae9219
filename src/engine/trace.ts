// The tracer: walks a packet through the fabric the way the Linux kernel would forward it, and records every decision.
// Its parts, one concept per file under trace/:
//   model.ts      what a trace answers: dispositions, Flow, Path, Hop, Step, DropDetail, OuterHeader
//   walk.ts       the walk through netns, routes, tunnels and ECMP branches, by a Walker that owns its state
//   neighbour.ts  ARP/ND: who answers for the next hop on the egress link's L2 domain, and the way to it
//   cross.ts      the L2 crossing: the hops and bridge steps of a frame on its way to the neighbour
//   record.ts     the integer record a walk writes (opcodes, drop codes) and its writer
//   decode.ts     the record turned into Hop and Step objects when someone reads them
// A new kind of step (DNAT, SNAT, POLICY) is a Step in model.ts, an opcode and writer in record.ts, where it happens in
// walk.ts, and a case in decode.ts.
import type { Addr } from './addr.js';
import type { Fabric, Netns } from './fabric.js';
import type { ServiceTable } from './service/table.js';
import type { Flow, Trace } from './trace/model.js';
import { Walker } from './trace/walk.js';

export { MAX_PATHS } from './trace/walk.js';

export { DISPOSITIONS, worstPath } from './trace/model.js';
export type { Disposition, DropDetail, Flow, Hop, OuterHeader, Path, AdminRuleRef, PolicyRuleRef, PolicyStep, Step, Trace } from './trace/model.js';

/**
 * Walkers not in use. A trace takes one for as long as it runs, so that a trace started while another is mid-way (from
 * a callback, a generator, a re-entrant answer) gets its own; in the usual case one walker serves every trace in turn.
 */
const idle: Walker[] = [];

/**
 * `services`: kube-proxy's rules in the nodes (a cluster's); `endpoint`: the Service endpoint to trace, when not all;
 * `entry`: for a packet from outside the model, the link of `source` it arrives by. `sourceId`, `dstOwner` and
 * `srcOwner` are source.id and the first owner entries of flow.dst and flow.src (Owners.first), for a caller that knows
 * them already (a compiled endpoint does): each is a cache miss to look up.
 */
export function trace(fabric: Fabric, source: Netns, flow: Flow, services?: ServiceTable, endpoint?: Addr, entry = -1, sourceId?: number, dstOwner?: number, srcOwner?: number): Trace {
  const walker = idle.pop() ?? new Walker();
  try {
    return walker.trace(fabric, source, flow, services, endpoint, entry, sourceId, dstOwner, srcOwner);
  } finally {
    idle.push(walker);
  }
}
