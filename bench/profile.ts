// Reading .cpuprofile files (from --cpu-prof): self time per sample node within a window of the profile, and labels
// for its functions and files. Shared by bench/profile-summary.ts (one profile) and bench/profile-http.ts (every
// thread of the service under load).
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  byId: Map<number, ProfileNode>;
  /** The profile's length, in ms. */
  span: number;
  /** Self time in ms by node id, within the window asked for. */
  self: Map<number, number>;
}

/**
 * Reads a profile, keeping the samples of a window: `from-to` in ms since it started, or counted back from its end
 * (`beforeEnd`), for a phase that ended a known time before the process exited.
 */
export function readProfile(file: string, window: { from: number; to: number; beforeEnd?: boolean } = { from: 0, to: 1e12 }): Profile {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const span = prof.timeDeltas.reduce((a, b) => a + b, 0) / 1000;
  const [from, to] = window.beforeEnd ? [span - window.from, span - window.to] : [window.from, window.to];
  const self = new Map<number, number>();
  let clock = 0;
  prof.samples.forEach((id, i) => {
    clock += (prof.timeDeltas[i] ?? 0) / 1000;
    if (clock >= from && clock <= to) self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
  });
  return { nodes: prof.nodes, byId: new Map(prof.nodes.map((n) => [n.id, n])), span, self };
}

export const shortUrl = (url: string): string => url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, '$1/');

export const functionLabel = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** Self time by function label. */
export function selfByFunction(p: Profile): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, ms] of p.self) {
    const label = functionLabel(p.byId.get(id)!);
    out.set(label, (out.get(label) ?? 0) + ms);
  }
  return out;
}
