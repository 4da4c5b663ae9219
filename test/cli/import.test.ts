// `pathtrace import` and `pathtrace dump` with the programs they run replaced by fakes on PATH: a kubectl that prints a
// captured List (test/fixtures/kubernetes), and ip/bridge/sysctl that print the captured dumps of the seed's two nodes
// (test/fixtures/iproute/two-nodes.json, real iproute2 output) and check that they are asked what the README asks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeBin, pathtrace, runProgram, serve, CLI, type Served } from '../helpers/cli.js';
import type { DumpNetnsDoc, DumpsDoc } from '../../src/topology/schema.js';

const fixture = (path: string) => fileURLToPath(new URL(`../fixtures/${path}`, import.meta.url));
const FLANNEL = fixture('kubernetes/flannel-host-gw.json');

let s: Served;
before(async () => {
  s = await serve();
});
after(() => s.close());

// Answers each of the import's kubectl commands as a cluster with flannel, kube-proxy in nftables mode, one Service and
// no Calico or AdminNetworkPolicy CRDs would; records every command line, one per line.
const KUBECTL = `#!/bin/sh
echo "$*" >> "$KUBECTL_ARGS"
if [ -n "$KUBECTL_FAIL" ]; then echo "$KUBECTL_FAIL" >&2; exit 1; fi
case "$*" in
  *nodes,pods,*) exec cat "$KUBECTL_LIST" ;;
  *configmap/kube-proxy*) exec cat "$KUBECTL_KUBE_SYSTEM" ;;
  *kube-flannel*) exit 0 ;;
  *ippools*) echo 'error: the server doesn'"'"'t have a resource type "ippools"' >&2; exit 1 ;;
  *adminnetworkpolicies*) echo '{"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}}' ;;
esac
`;

/** The flannel List with a Service of two endpoints (web's pods), as the first command prints it. */
function withService(dir: string): string {
  const list = JSON.parse(readFileSync(FLANNEL, 'utf8')) as { items: object[] };
  list.items.push(
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.80', clusterIPs: ['10.96.0.80'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-x1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'worker-1' },
        { addresses: ['10.244.2.7'], conditions: { ready: true }, nodeName: 'worker-2' },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  );
  const file = join(dir, 'list.json');
  writeFileSync(file, JSON.stringify(list, null, 4));
  return file;
}

const KUBE_SYSTEM = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kube-proxy', namespace: 'kube-system' },
  data: { 'config.conf': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\nclusterCIDR: 10.244.0.0/16\n' },
};

test('import --kubectl asks kubectl for every object the import reads, with --context, and uploads them as one List', async () => {
  const bin = fakeBin({ kubectl: KUBECTL });
  try {
    const argsFile = join(bin.dir, 'args');
    const kubeSystem = join(bin.dir, 'kube-system.json');
    writeFileSync(kubeSystem, JSON.stringify(KUBE_SYSTEM, null, 4));
    const env = { PATH: `${bin.dir}:${process.env.PATH}`, PATHTRACE_URL: s.url, KUBECTL_ARGS: argsFile, KUBECTL_LIST: withService(bin.dir), KUBECTL_KUBE_SYSTEM: kubeSystem };
    let r = await pathtrace(['import', '--kubectl', '--context', 'prod-admin', '-t', 'prod'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readFileSync(argsFile, 'utf8').trim().split('\n'), [
      '--context prod-admin get nodes,pods,namespaces,services,endpointslices,networkpolicies --all-namespaces -o json',
      '--context prod-admin get -n kube-system configmap/kube-proxy configmap/ip-masq-agent configmap/cilium-config configmap/kube-flannel-cfg daemonset/aws-node --ignore-not-found -o json',
      '--context prod-admin get -n kube-flannel configmap/kube-flannel-cfg --ignore-not-found -o json',
      '--context prod-admin get ippools.crd.projectcalico.org -o json',
      '--context prod-admin get adminnetworkpolicies,baselineadminnetworkpolicies -o json',
    ]);
    // The import's answer, for a person; piped, no progress on stderr, only what kubectl could not give.
    assert.match(r.stdout, /^✓ prod revision 1\n {2}3 nodes, 17 pods; left out: .*pending 1.*terminated 1/);
    assert.match(r.stdout, /\n {2}data path: flannel host-gw \(.*flannel\.alpha\.coreos\.com\/backend-type.*\)\n/);
    assert.equal(r.stderr, `left out Calico's IPPools (natOutgoing defaults kept): kubectl --context prod-admin get ippools.crd.projectcalico.org -o json failed: error: the server doesn't have a resource type "ippools"\n`);
    const stored = (await s.app.inject('/v1/topologies/prod')).json();
    assert.equal(stored.cluster.nodes.length, 3);
    // The Service and kube-proxy's mode came with it: a trace to the ClusterIP is DNATed by the nftables mode's rules.
    assert.equal(stored.cluster.services.length, 1);
    assert.equal(stored.cluster.kubeProxy.mode, 'nftables');
    const trace = (await s.app.inject('/v1/topologies/prod/trace?from=default/cache-6b8f9d7c4d-c5rnf&to=svc/default/web&port=80')).json();
    assert.equal(trace.disposition, 'DELIVERED', JSON.stringify(trace.summary));
    const dnat = trace.hops.flatMap((h: { steps: { type: string; mode?: string }[] }) => h.steps).find((step: { type: string }) => step.type === 'DNAT');
    assert.equal(dnat.mode, 'nftables');

    // Again: the same name is replaced, as a new revision.
    writeFileSync(argsFile, '');
    r = await pathtrace(['import', '--kubectl', '-t', 'prod', '--format', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).revision, 2);
    assert.equal(readFileSync(argsFile, 'utf8').trim().split('\n')[0], 'get nodes,pods,namespaces,services,endpointslices,networkpolicies --all-namespaces -o json');

    // What kubectl says when its first command fails is passed on, with exit code 3, and nothing else is asked.
    writeFileSync(argsFile, '');
    r = await pathtrace(['import', '--kubectl', '--context', 'nope', '-t', 'prod'], { ...env, KUBECTL_FAIL: 'error: context "nope" does not exist' });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /kubectl --context nope get nodes,pods,namespaces,services,endpointslices,networkpolicies --all-namespaces -o json failed: error: context "nope" does not exist/);
    assert.equal(readFileSync(argsFile, 'utf8').trim().split('\n').length, 1);
  } finally {
    bin.remove();
  }
});

test('import takes a List from a file or stdin; the service\'s refusal is printed with its pointers', async () => {
  const list = readFileSync(FLANNEL, 'utf8');
  let r = await pathtrace(['import', '-', '-t', 'piped', '--cni', 'bridge', '--mode', 'host-gw'], { PATHTRACE_URL: s.url }, list);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /data path: bridge host-gw \(given\)/);
  const broken = JSON.parse(list) as { items: { kind: string; spec: { podCIDRs?: string[] } }[] };
  broken.items.find((i) => i.kind === 'Node')!.spec.podCIDRs = ['10.244.0.5/24'];
  r = await pathtrace(['import', '-', '-t', 'piped'], { PATHTRACE_URL: s.url }, JSON.stringify(broken));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\(HTTP 400\): .*\n {2}\/items\/\d+\/spec\/podCIDRs\/0: .*host bits/);
  r = await pathtrace(['import', '-t', 'piped'], { PATHTRACE_URL: s.url });
  assert.equal(r.code, 2);
});

test('a List larger than the service takes is its 413, not a broken connection', async () => {
  const small = await serve({ bodyLimit: 10_000 });
  try {
    const r = await pathtrace(['import', FLANNEL, '-t', 'big'], { PATHTRACE_URL: small.url });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\(HTTP 413\)/);
  } finally {
    await small.close();
  }
});

test('on a terminal, import shows its progress and colour; NO_COLOR turns the colour off', async () => {
  const bin = fakeBin({ kubectl: KUBECTL });
  try {
    const kubeSystem = join(bin.dir, 'kube-system.json');
    writeFileSync(kubeSystem, JSON.stringify(KUBE_SYSTEM));
    const env = { PATH: `${bin.dir}:${process.env.PATH}`, PATHTRACE_URL: s.url, KUBECTL_ARGS: join(bin.dir, 'args'), KUBECTL_LIST: FLANNEL, KUBECTL_KUBE_SYSTEM: kubeSystem, TERM: 'xterm' };
    // script(1) gives the CLI a pseudo-terminal for stdout and stderr.
    const onTty = (extra: Record<string, string>) =>
      runProgram('script', ['-qec', `${process.execPath} ${CLI} import --kubectl -t tty`, '/dev/null'], { ...env, ...extra });
    let r = await onTty({});
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /running kubectl get nodes,pods,namespaces,services,endpointslices,networkpolicies --all-namespaces -o json/);
    // What kubectl could not give stays on its own line, the progress going on below it.
    assert.match(r.stdout, /\r\x1b\[2Kleft out Calico's IPPools \(natOutgoing defaults kept\): kubectl get ippools\.crd\.projectcalico\.org -o json failed: error: the server doesn't have a resource type "ippools"\r?\n[^]*running kubectl get adminnetworkpolicies/);
    assert.match(r.stdout, /uploading|importing/);
    assert.match(r.stdout, /\x1b\[32m✓\x1b\[0m tty revision 1/);
    r = await onTty({ NO_COLOR: '1' });
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /✓ tty revision 2/);
    assert.doesNotMatch(r.stdout, /\x1b\[3\dm/);
  } finally {
    bin.remove();
  }
});

// ip, bridge and sysctl as a node with the captured namespaces would answer them; any other question fails loudly.
const FAKE_IPROUTE = `
import { readFileSync } from 'node:fs';
const byNetns = JSON.parse(readFileSync(process.env.FAKE_NETNS, 'utf8'));
let [tool, ...args] = process.argv.slice(2);
let ns = '';
if (tool === 'ip' && args[0] === 'netns' && args[1] === 'list') {
  console.log(Object.keys(byNetns).filter(Boolean).map((n, i) => n + ' (id: ' + i + ')').join('\\n'));
  process.exit(0);
}
if (tool === 'ip' && args[0] === 'netns' && args[1] === 'exec') [ns, tool, ...args] = args.slice(2);
const dump = byNetns[ns];
if (dump === undefined) { console.error('Cannot open network namespace "' + ns + '"'); process.exit(1); }
const asked = [tool, ...args].join(' ');
const FIELDS = {
  'ip -j -d link show': 'link', 'ip -j addr show': 'addr', 'ip -j route show table all': 'route',
  'ip -6 -j route show table all': 'route6', 'ip -j neigh show': 'neigh', 'ip -j neigh show proxy': 'neighProxy',
  'bridge -j fdb show': 'fdb',
};
if (FIELDS[asked] !== undefined) { console.log(JSON.stringify(dump[FIELDS[asked]] ?? [])); process.exit(0); }
if (tool === 'sysctl' && args[0] === '-a' && args[1] === '-r' && args.length === 3) {
  const pattern = new RegExp(args[2]);
  const all = { ...dump.sysctl, 'net.ipv4.tcp_rmem': '4096 131072 6291456', 'net.core.somaxconn': '4096' };
  console.log(Object.entries(all).filter(([k]) => pattern.test(k)).map(([k, v]) => k + ' = ' + v).join('\\n'));
  process.exit(0);
}
console.error('fake: unexpected ' + asked);
process.exit(2);
`;

test('dump writes the namespaces of a node as ip -j prints them; import --dumps uploads those of every node, which trace', async () => {
  const { dumps } = JSON.parse(readFileSync(fixture('iproute/two-nodes.json'), 'utf8')) as { dumps: DumpsDoc };
  const netnsName = (pod: string) => `cni-${pod.split('/')[1]}`;
  const wrapper = (tool: string) => `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/fake-iproute.mjs" ${tool} "$@"\n`;
  const bin = fakeBin({ 'fake-iproute.mjs': FAKE_IPROUTE, ip: wrapper('ip'), bridge: wrapper('bridge'), sysctl: wrapper('sysctl') });
  try {
    const files: string[] = [];
    for (const node of ['node-a', 'node-b']) {
      // What this node's kernel holds: its own namespace, and its pods' under their netns names.
      const mine = dumps.netns.filter((n) => n.name === node || n.node === node);
      const byNetns = Object.fromEntries(mine.map((n) => [n.kind === 'node' ? '' : netnsName(n.name), n]));
      writeFileSync(join(bin.dir, `${node}.json`), JSON.stringify(byNetns));
      const out = join(bin.dir, `${node}.jsonl`);
      const r = await pathtrace(['dump', '--name', node, '-o', out], { PATH: `${bin.dir}:${process.env.PATH}`, FAKE_NETNS: join(bin.dir, `${node}.json`) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, `${mine.length} namespaces of ${node} written to ${out}\n`);
      const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as DumpNetnsDoc);
      // Verbatim, as the capture holds it: the sysctls outside the README's pattern are not kept.
      assert.deepEqual(
        lines,
        mine.map((n) => ({ ...n, name: n.kind === 'node' ? node : netnsName(n.name), neighProxy: [] })),
      );
      files.push(out);
    }
    const r = await pathtrace(['import', '--dumps', ...files, '-t', 'dumped'], { PATHTRACE_URL: s.url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^✓ dumped revision 1\n/);
    const traced = await pathtrace(['trace', '-t', 'dumped', 'cni-pod-a1', '10.1.2.2'], { PATHTRACE_URL: s.url });
    assert.equal(traced.code, 0, traced.stdout + traced.stderr);
    assert.match(traced.stdout, /^DELIVERED: cni-pod-a1 \(10\.1\.1\.2\) → 10\.1\.2\.2 via cni-pod-a1 → node-a → node-b → cni-pod-b1\n/);
  } finally {
    bin.remove();
  }
});

test('dump fails with exit code 3 when ip is not there or fails', async () => {
  const bin = fakeBin({ ip: '#!/bin/sh\necho "Object \\"netns\\" is unknown, try \\"ip help\\"." >&2\nexit 255\n' });
  try {
    const r = await pathtrace(['dump', '--name', 'n1'], { PATH: `${bin.dir}:/nonexistent` });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^pathtrace dump: (ip .* failed: Object "netns" is unknown|sysctl is not on PATH|bridge is not on PATH)/);
  } finally {
    bin.remove();
  }
});
