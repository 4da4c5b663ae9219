// Changes on top of a topology, for what-if questions: an RFC 7396 JSON merge patch of the document, or a list of the
// changes operators make to a running network (a route added or deleted, a link down or up, forwarding off or on),
// applied to the fabric the topology compiles to.
import { DataError } from './data-error.js';
import type { FabricDoc, RouteDoc } from './schema.js';
import { suggestNames } from '../engine/suggest.js';

/** RFC 7396: objects merge key by key, null deletes, anything else (arrays included) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

export type Change =
  | { op: 'add-route'; netns: string; route: RouteDoc }
  | { op: 'delete-route'; netns: string; dst: string; metric?: number }
  | { op: 'link-down' | 'link-up'; netns: string; link: string }
  | { op: 'forwarding'; netns: string; enabled: boolean };

export function applyChanges(fabric: FabricDoc, changes: readonly Change[], pointer: string): FabricDoc {
  const doc = structuredClone(fabric);
  const errors: { pointer: string; detail: string }[] = [];
  changes.forEach((c, i) => {
    const at = `${pointer}/${i}`;
    const ns = doc.netns.find((n) => n.name === c.netns);
    if (ns === undefined) {
      const near = suggestNames(c.netns, doc.netns.map((n) => n.name));
      errors.push({ pointer: `${at}/netns`, detail: `there is no netns named ${c.netns}${near.length ? `; did you mean ${near.join(', ')}?` : ''}` });
      return;
    }
    switch (c.op) {
      case 'add-route':
        (ns.routes ??= []).push(c.route);
        break;
      case 'delete-route': {
        const before = ns.routes?.length ?? 0;
        ns.routes = (ns.routes ?? []).filter((r) => !(r.dst === c.dst && (c.metric === undefined || (r.metric ?? 0) === c.metric)));
        if (ns.routes.length === before) errors.push({ pointer: `${at}/dst`, detail: `${c.netns} has no route to ${c.dst}` });
        break;
      }
      case 'link-down':
      case 'link-up': {
        const link = ns.links.find((l) => l.name === c.link);
        if (link === undefined) errors.push({ pointer: `${at}/link`, detail: `${c.netns} has no link named ${c.link}` });
        else link.up = c.op === 'link-up';
        break;
      }
      case 'forwarding':
        ns.forwarding = c.enabled;
        break;
    }
  });
  if (errors.length > 0) throw new DataError(`${errors.length} of the changes do not apply to the topology`, errors);
  return doc;
}
