// Semantic checks of a cluster's Services, EndpointSlices, Endpoints and kube-proxy configuration: the fields kube-proxy
// reads, with a pointer to every place a person must fix. What the API server itself would refuse (a NodePort on a
// ClusterIP Service, two unnamed ports) is refused here too; what kube-proxy merely ignores (a slice of FQDNs, a slice
// that names no Service) is accepted.
import type { Addr } from '../engine/addr.js';
import type { Prefix } from '../engine/prefix.js';
import { sloppyPrefix } from '../engine/service/config.js';
import type { ClusterDoc } from './schema.js';

interface Findings {
  add(pointer: string, detail: string): void;
  addr(pointer: string, text: string): Addr | undefined;
  prefix(pointer: string, text: string, parse?: (s: string) => Prefix): Prefix | undefined;
}

export function checkServices(c: ClusterDoc, f: Findings, base = '/cluster'): void {
  const names = new Set<string>();
  (c.services ?? []).forEach((svc, i) => {
    const p = `${base}/services/${i}`;
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    if (names.has(key)) f.add(`${p}/metadata/name`, `another Service is also named ${key}`);
    names.add(key);
    const spec = svc.spec;
    const type = spec.type ?? 'ClusterIP';
    const families = new Set<number>();
    const ips = spec.clusterIPs ?? (spec.clusterIP === undefined ? [] : [spec.clusterIP]);
    ips.forEach((text, j) => {
      if (text === 'None' || text === '') return;
      const a = f.addr(spec.clusterIPs ? `${p}/spec/clusterIPs/${j}` : `${p}/spec/clusterIP`, text);
      if (a && families.has(a.family)) f.add(`${p}/spec/clusterIPs/${j}`, `a Service has at most one IPv${a.family} ClusterIP`);
      if (a) families.add(a.family);
    });
    if (spec.clusterIPs && spec.clusterIP !== undefined && spec.clusterIPs[0] !== spec.clusterIP) {
      f.add(`${p}/spec/clusterIP`, `clusterIP ${spec.clusterIP} is not clusterIPs[0] (${spec.clusterIPs[0]})`);
    }
    const ports = spec.ports ?? [];
    const portNames = new Set<string>();
    ports.forEach((port, j) => {
      const pp = `${p}/spec/ports/${j}`;
      const name = port.name ?? '';
      if (ports.length > 1 && name === '') f.add(`${pp}/name`, 'a Service with several ports names every one of them');
      const id = `${name}`;
      if (portNames.has(id)) f.add(`${pp}/name`, `another port of the Service is also named ${JSON.stringify(name)}`);
      portNames.add(id);
      if (port.nodePort !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
        f.add(`${pp}/nodePort`, `a ${type} Service has no nodePort (only NodePort and LoadBalancer Services do)`);
      }
    });
    spec.externalIPs?.forEach((text, j) => f.addr(`${p}/spec/externalIPs/${j}`, text));
    spec.loadBalancerSourceRanges?.forEach((text, j) => f.prefix(`${p}/spec/loadBalancerSourceRanges/${j}`, text, sloppyPrefix));
    svc.status?.loadBalancer?.ingress?.forEach((ing, j) => {
      if (ing.ip !== undefined) f.addr(`${p}/status/loadBalancer/ingress/${j}/ip`, ing.ip);
    });
  });

  (c.endpointSlices ?? []).forEach((slice, i) => {
    const p = `${base}/endpointSlices/${i}`;
    if (slice.addressType === 'FQDN') return;
    const family = slice.addressType === 'IPv4' ? 4 : 6;
    (slice.endpoints ?? []).forEach((ep, j) => {
      ep.addresses.forEach((text, k) => {
        const a = f.addr(`${p}/endpoints/${j}/addresses/${k}`, text);
        if (a && a.family !== family) f.add(`${p}/endpoints/${j}/addresses/${k}`, `${a} is not an ${slice.addressType} address, as the slice's addressType says`);
      });
    });
  });

  (c.endpoints ?? []).forEach((eps, i) => {
    const p = `${base}/endpoints/${i}`;
    eps.subsets?.forEach((subset, j) => {
      for (const list of ['addresses', 'notReadyAddresses'] as const) {
        subset[list]?.forEach((a, k) => f.addr(`${p}/subsets/${j}/${list}/${k}/ip`, a.ip));
      }
    });
  });

  const kp = c.kubeProxy;
  if (kp?.clusterCIDR !== undefined && kp.clusterCIDR !== '') {
    const seen = new Set<number>();
    kp.clusterCIDR.split(',').forEach((text) => {
      const prefix = f.prefix(`${base}/kubeProxy/clusterCIDR`, text.trim(), sloppyPrefix);
      if (prefix && seen.has(prefix.family)) f.add(`${base}/kubeProxy/clusterCIDR`, `at most one IPv${prefix.family} prefix`);
      if (prefix) seen.add(prefix.family);
    });
  }
  kp?.nodePortAddresses?.forEach((text, j) => {
    if (text !== 'primary') f.prefix(`${base}/kubeProxy/nodePortAddresses/${j}`, text, sloppyPrefix);
  });
  const mode = kp?.detectLocalMode;
  if (mode === 'BridgeInterface' && !kp?.detectLocal?.bridgeInterface) {
    f.add(`${base}/kubeProxy/detectLocal/bridgeInterface`, 'detectLocalMode BridgeInterface needs detectLocal.bridgeInterface');
  }
  if (mode === 'InterfaceNamePrefix' && !kp?.detectLocal?.interfaceNamePrefix) {
    f.add(`${base}/kubeProxy/detectLocal/interfaceNamePrefix`, 'detectLocalMode InterfaceNamePrefix needs detectLocal.interfaceNamePrefix');
  }
  c.serviceCIDRs?.forEach((text, j) => f.prefix(`${base}/serviceCIDRs/${j}`, text));
}
