// The endpoints of each Service port, as kube-proxy's EndpointSlice cache builds them: every slice labelled with the
// Service's name (kubernetes.io/service-name) in its namespace, of the family's addressType; a slice port gives its
// endpoints to the Service port of the same name (never by targetPort, which only the EndpointSlice controller reads);
// absent conditions count as ready and serving and not terminating. v1 Endpoints stand in for a Service no slice names:
// `addresses` are ready, `notReadyAddresses` neither ready nor serving.
import { Addr, type Family } from '../addr.js';
import type { ClusterDoc } from '../../topology/schema.js';

export const READY = 1;
export const SERVING = 2;
export const TERMINATING = 4;

export interface EndpointFacts {
  readonly addr: Addr;
  readonly port: number;
  readonly nodeName: string | undefined;
  /** READY | SERVING | TERMINATING. */
  readonly flags: number;
  /** Its topology hints (hints.forZones), or undefined for none. */
  readonly zones: readonly string[] | undefined;
  /** Its node hints (hints.forNodes, trafficDistribution PreferSameNode), or undefined for none. */
  readonly nodes: readonly string[] | undefined;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** A hint list's names, or undefined for none (absent, null or empty: no hint). */
const hintNames = (hints: readonly { name: string }[] | null | undefined) => (hints && hints.length > 0 ? hints.map((h) => h.name) : undefined);

/** `namespace/name/portName/protocol/family` → endpoints. */
export type EndpointIndex = Map<string, EndpointFacts[]>;

export const endpointKey = (namespace: string, name: string, portName: string, protocol: string, family: Family) =>
  `${namespace}/${name}/${portName}/${protocol}/${family}`;

export function indexEndpoints(cluster: ClusterDoc): EndpointIndex {
  const index: EndpointIndex = new Map();
  const sliced = new Set<string>();
  const add = (key: string, facts: EndpointFacts) => {
    const list = index.get(key);
    if (list === undefined) index.set(key, [facts]);
    // Slices may repeat an endpoint (while one replaces another): kube-proxy keeps one per address and port.
    else if (!list.some((e) => e.addr.equals(facts.addr) && e.port === facts.port)) list.push(facts);
  };
  for (const slice of cluster.endpointSlices ?? []) {
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (service === undefined || slice.addressType === 'FQDN') continue;
    const namespace = slice.metadata.namespace ?? 'default';
    sliced.add(`${namespace}/${service}`);
    const family: Family = slice.addressType === 'IPv4' ? 4 : 6;
    for (const port of slice.ports ?? []) {
      if (port.port === undefined || port.port === null) continue;
      const key = endpointKey(namespace, service, port.name ?? '', port.protocol ?? 'TCP', family);
      for (const ep of slice.endpoints ?? []) {
        const c = ep.conditions;
        const flags =
          (c?.ready ?? true ? READY : 0) | (c?.serving ?? true ? SERVING : 0) | (c?.terminating ?? false ? TERMINATING : 0);
        // kube-proxy programs the first address of an endpoint; the others are for consumers that want them all.
        const addr = Addr.parse(ep.addresses[0]!);
        add(key, { addr, port: port.port, nodeName: ep.nodeName ?? undefined, flags, zones: hintNames(ep.hints?.forZones), nodes: hintNames(ep.hints?.forNodes) });
      }
    }
  }
  for (const eps of cluster.endpoints ?? []) {
    const namespace = eps.metadata.namespace ?? 'default';
    if (sliced.has(`${namespace}/${eps.metadata.name}`)) continue;
    for (const subset of eps.subsets ?? []) {
      for (const port of subset.ports ?? []) {
        for (const [list, flags] of [[subset.addresses, READY | SERVING], [subset.notReadyAddresses, 0]] as const) {
          for (const a of list ?? []) {
            const addr = Addr.parse(a.ip);
            add(endpointKey(namespace, eps.metadata.name, port.name ?? '', port.protocol ?? 'TCP', addr.family), {
              addr,
              port: port.port,
              nodeName: a.nodeName,
              flags,
              zones: undefined,
              nodes: undefined,
            });
          }
        }
      }
    }
  }
  return index;
}
