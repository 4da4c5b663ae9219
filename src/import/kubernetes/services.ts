// The Service side of a kubectl List (`kubectl get nodes,pods,services,endpointslices -A -o json` plus
// `kubectl get -n kube-system configmap/kube-proxy -o json`): Services, EndpointSlices (or v1 Endpoints) and kube-proxy's
// configuration (the ConfigMap's config.conf, a KubeProxyConfiguration in YAML) taken into the cluster form. Each object
// is checked against the cluster form's schema where the List holds it, so a mistake points into the request.
import { parse } from 'yaml';
import type { ClusterDoc } from '../../topology/schema.js';
import { checkAsBody } from '../../topology/schema-check.js';
import { EndpointSlice, Endpoints, KubeProxy, Service } from '../../topology/services.schema.js';
import type { EndpointSliceDoc, EndpointsDoc, KubeProxyDoc, ServiceDoc } from '../../topology/services.schema.js';
import { badRequest } from './schema.js';

export type ServiceParts = Pick<ClusterDoc, 'services' | 'endpointSlices' | 'endpoints' | 'kubeProxy'>;

const KUBE_PROXY_CONFIG = 'config.conf';

interface Item {
  kind: string;
  metadata?: { name?: unknown; namespace?: unknown };
  data?: Record<string, unknown>;
}

/**
 * The Services, EndpointSlices, Endpoints and kube-proxy ConfigMap among `items`; takes their kinds out of `ignored` (the
 * import's count of objects it does not read). Throws DataError (400) for an object the cluster form cannot read.
 */
export function importServices(items: readonly { kind: string }[] | undefined, ignored: Record<string, number>): ServiceParts {
  const services: ServiceDoc[] = [];
  const endpointSlices: EndpointSliceDoc[] = [];
  const endpoints: EndpointsDoc[] = [];
  let kubeProxy: KubeProxyDoc | undefined;
  (items ?? []).forEach((raw, i) => {
    const item = raw as Item;
    const at = `/items/${i}`;
    switch (item.kind) {
      case 'Service':
        checkAsBody(Service, item, at, 'the Service');
        services.push(item as unknown as ServiceDoc);
        break;
      case 'EndpointSlice':
        checkAsBody(EndpointSlice, item, at, 'the EndpointSlice');
        endpointSlices.push(item as unknown as EndpointSliceDoc);
        break;
      case 'Endpoints':
        checkAsBody(Endpoints, item, at, 'the Endpoints');
        endpoints.push(item as unknown as EndpointsDoc);
        break;
      case 'ConfigMap':
        if (item.metadata?.name === 'kube-proxy' && item.metadata.namespace === 'kube-system') kubeProxy = kubeProxyConfig(item, at);
        break;
    }
  });
  for (const kind of ['Service', 'EndpointSlice', 'Endpoints']) delete ignored[kind];
  if (kubeProxy !== undefined && ignored.ConfigMap !== undefined && --ignored.ConfigMap === 0) delete ignored.ConfigMap;
  return {
    ...(services.length > 0 ? { services } : {}),
    ...(endpointSlices.length > 0 ? { endpointSlices } : {}),
    ...(endpoints.length > 0 ? { endpoints } : {}),
    ...(kubeProxy !== undefined ? { kubeProxy } : {}),
  };
}

function kubeProxyConfig(item: Item, at: string): KubeProxyDoc {
  const text = item.data?.[KUBE_PROXY_CONFIG];
  const pointer = `${at}/data/${KUBE_PROXY_CONFIG}`;
  if (typeof text !== 'string') {
    throw badRequest('the kube-proxy ConfigMap has no config.conf', [{ pointer, detail: 'is required: the KubeProxyConfiguration kube-proxy reads' }]);
  }
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    throw badRequest('the kube-proxy ConfigMap\'s config.conf is not YAML', [{ pointer, detail: (err as Error).message.split('\n')[0]! }]);
  }
  checkAsBody(KubeProxy, config, pointer, 'the KubeProxyConfiguration');
  return config as KubeProxyDoc;
}
