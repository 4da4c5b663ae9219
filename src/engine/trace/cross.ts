// The L2 crossing: a frame sent out of a link follows the path neighbour resolution found (veth peers, bridge ports,
// segments) to the link that answered, entering every netns on the way and being forwarded by every bridge it meets.
import type { Fabric } from '../fabric.js';
import type { Resolution } from './neighbour.js';
import type { Recorder } from './record.js';

/**
 * Records the frame's way along `answer`'s path from the egress link to the neighbour, opening a hop for every netns it
 * enters and a BRIDGE step wherever a bridge forwards it. `hop` is where the sending netns's hop is in the record; returns
 * where the hop of the neighbour's netns is.
 */
export function cross(fabric: Fabric, record: Recorder, hop: number, answer: Resolution): number {
  const n = fabric.links.length;
  const path = answer.path;
  const length = answer.pathLength;
  let ns = record.netnsOf(hop);
  const first = path[0]!;
  const second = length > 1 ? path[1]! : -1;
  // Routed out of a bridge: the bridge itself picks the port.
  if (second >= 0 && second < n && fabric.masterOf(second) === first) record.bridge(first, -1, second);
  for (let i = 1; i < length; i++) {
    const v = path[i]!;
    if (v >= n) continue;
    if (fabric.netnsOf(v) !== ns) {
      ns = fabric.netnsOf(v);
      hop = record.hop(ns, v);
    }
    const prev = path[i - 1]!;
    if (prev < n && fabric.masterOf(prev) === v) {
      const next = i + 1 < length && path[i + 1]! < n ? path[i + 1]! : -1;
      record.bridge(v, prev, next);
      if (next >= 0) record.out(hop, next);
    }
  }
  return hop;
}
