// `pathtrace trace | matrix | diff` as a user runs them: the shipped CLI against the service on a real port.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { example } from '../helpers/examples.js';
import { CLI, fakeBin, pathtrace, runProgram, serve, type Served } from '../helpers/cli.js';
import { parseTokens, TokenVerifier } from '../../src/auth/tokens.js';

let s: Served;
let env: Record<string, string>;
const LAB = {
  netns: [
    { name: 'a', kind: 'pod', links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.1/24'], segment: 'lan' }] },
    { name: 'b', kind: 'pod', links: [{ name: 'eth0', kind: 'physical', addresses: ['192.168.0.2/24'], segment: 'lan' }] },
  ],
};

before(async () => {
  s = await serve();
  env = { PATHTRACE_URL: s.url };
  const put = async (url: string, payload: object) => {
    const res = await s.app.inject({ method: 'PUT', url, payload });
    assert.ok(res.statusCode < 300, res.body);
  };
  await put('/v1/topologies/two-nodes', example('two-nodes'));
  const edge = example('two-nodes');
  edge.cluster!.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  await put('/v1/topologies/edge', { cluster: edge.cluster });
  await put('/v1/topologies/lab', { fabric: LAB });
  const broken = structuredClone(LAB) as typeof LAB & { netns: { routes?: object[] }[] };
  broken.netns[1]!.routes = [{ dst: '192.168.0.1', type: 'blackhole' }];
  await put('/v1/topologies/lab', { fabric: broken });
});
after(() => s.close());

test('trace prints the service\'s text answer and exits by disposition: 0 delivered or leaving the network, a code per drop', async () => {
  const cases: [string[], number, RegExp][] = [
    [['-t', 'two-nodes', 'pod-a1', 'pod-b1'], 0, /^DELIVERED: default\/pod-a1 \(10\.1\.1\.2\) → default\/pod-b1/],
    [['--topology', 'edge', 'pod-a1', '8.8.8.8'], 0, /^EXITS_NETWORK/],
    [['-t', 'two-nodes', 'pod-a1', '8.8.8.8'], 10, /^NO_ROUTE at node-a: /],
    [['-t', 'lab', 'b', 'a'], 11, /^BLACKHOLED at b: /],
    [['-t', 'two-nodes', 'pod-a1', '10.1.2.99'], 13, /^NEIGHBOR_UNREACHABLE at node-b: /],
  ];
  for (const [args, code, first] of cases) {
    const r = await pathtrace(['trace', ...args], env);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, first);
    assert.equal(r.stderr, '');
  }
  // Piped, the answer is the service's text as it is: no colour, nothing added.
  const r = await pathtrace(['trace', '-t', 'two-nodes', 'pod-a1', '10.1.2.99'], env);
  const served = await s.app.inject('/v1/topologies/two-nodes/trace?from=pod-a1&to=10.1.2.99&format=text');
  assert.equal(r.stdout, served.body);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});

test('trace takes the topology from PATHTRACE_TOPOLOGY, and port, protocol, family and revision as the API does', async () => {
  const json = async (...args: string[]) => {
    const r = await pathtrace(['trace', '--format', 'json', ...args], { ...env, PATHTRACE_TOPOLOGY: 'two-nodes' });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { flow: Record<string, unknown>; disposition: string; topology: { revision: number } };
  };
  // A port alone asks for TCP (the service refuses a port with ICMP).
  let a = await json('pod-a1', 'pod-b1', '--port', '443');
  assert.equal(a.flow.protocol, 'tcp');
  assert.equal(a.flow.port, 443);
  a = await json('pod-a1', 'pod-b1', '-p', '53', '--protocol', 'udp', '--family', '4');
  assert.equal(a.flow.protocol, 'udp');
  assert.equal(a.flow.port, 53);
  // lab's first revision had no blackhole; the address may be given as curl takes it, without http://.
  const r = await pathtrace(['trace', '-t', 'lab', '--revision', '1', 'b', 'a', '--url', s.url.replace('http://', '')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^DELIVERED/);
});

test('the service\'s problem documents are printed for a person, with exit code 1', async () => {
  let r = await pathtrace(['trace', '-t', 'two-nodes', 'pod-a1', 'pod-b1', '--family', '6'], env);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^pathtrace trace: The request is not valid \(HTTP 400\): cannot trace in IPv6: default\/pod-a1 has no IPv6 address/);
  r = await pathtrace(['trace', '-t', 'two-nodes', 'pod', 'pod-b1'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\(HTTP 404\): there is no pod, node or netns named pod in this topology\n {2}did you mean: default\/pod-a1, default\/pod-a2, default\/pod-b1\?\n$/);
  r = await pathtrace(['trace', '-t', 'nope', 'pod-a1', 'pod-b1'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\(HTTP 404\): .*nope/);
});

test('a wrong command line exits 2 saying what is wrong; an unreachable service exits 3', async () => {
  for (const args of [['trace', 'pod-a1', 'pod-b1'], ['trace', '-t', 'x', 'pod-a1'], ['trace', '-t', 'x', 'a', 'b', '--colour'], ['trace', '-t', 'x', 'a', 'b', '--port', '70000'], ['frobnicate'], []]) {
    const r = await pathtrace(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /topology|argument|Unknown option|--port must be|no command|usage/);
  }
  const help = await pathtrace(['help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: pathtrace <command>/);
  // Every drop's exit code is in the help.
  assert.match(help.stdout, /10 NO_ROUTE, 11 BLACKHOLED, 12 UNREACHABLE, 13 NEIGHBOR_UNREACHABLE, 14 LINK_DOWN, 15 FORWARDING_DISABLED, 16 LOOP, 17 TTL_EXCEEDED/);
  const r = await pathtrace(['trace', '-t', 'two-nodes', 'pod-a1', 'pod-b1'], { PATHTRACE_URL: 'http://127.0.0.1:9' });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot reach the service at http:\/\/127\.0\.0\.1:9: ECONNREFUSED/);
});

test('on a terminal the disposition and the drop are coloured, unless NO_COLOR is set', async () => {
  // script(1) gives the CLI a pseudo-terminal.
  const onTty = (extra: Record<string, string>) =>
    runProgram('script', ['-qec', `${process.execPath} ${CLI} trace -t two-nodes pod-a1 10.1.2.99`, '/dev/null'], { ...env, TERM: 'xterm', ...extra });
  let r = await onTty({});
  assert.match(r.stdout, /^\x1b\[1m\x1b\[31mNEIGHBOR_UNREACHABLE\x1b\[0m\x1b\[0m at node-b: /);
  assert.match(r.stdout, /\x1b\[31m✗ \x1b\[0mnobody on cbr0/);
  r = await onTty({ NO_COLOR: '1' });
  assert.match(r.stdout, /^NEIGHBOR_UNREACHABLE at node-b: /);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});

test('matrix draws the service\'s letters with the revision, the pods named and a legend; json and csv are one row per pair', async () => {
  const r = await pathtrace(['matrix', '-t', 'lab'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    ['lab, revision 2: 2 pods, 2 pairs', '   12', '1  -D  a (192.168.0.1)', '2  B-  b (192.168.0.2)', 'legend: D DELIVERED, B BLACKHOLED, - itself', 'counts: DELIVERED 1, BLACKHOLED 1', ''].join('\n'),
  );
  assert.match((await pathtrace(['matrix', '-t', 'lab', '--revision', '1'], env)).stdout, /^lab, revision 1: 2 pods, 2 pairs\n {3}12\n1 {2}-D .*\n2 {2}D- /);
  // A script gets one object per pair, the outcome by name: the service's format=rows as it is.
  const filtered = await pathtrace(['matrix', '-t', 'two-nodes', '--node', 'node-b', '--format', 'json'], env);
  assert.equal(filtered.code, 0, filtered.stderr);
  const rows = JSON.parse(filtered.stdout) as { from: string; to: string; disposition: string }[];
  assert.deepEqual(rows, (await s.app.inject('/v1/topologies/two-nodes/reachability?node=node-b&format=rows')).json());
  const all = JSON.parse((await pathtrace(['matrix', '-t', 'two-nodes', '--format', 'json'], env)).stdout) as typeof rows;
  assert.ok(all.some((p) => p.from === 'default/pod-a1' && p.to === 'default/pod-b1' && p.disposition === 'DELIVERED'));
  assert.ok(all.every((p) => p.from !== p.to), 'a pod to itself is no row');
  const csv = await pathtrace(['matrix', '-t', 'lab', '--format', 'csv'], env);
  assert.equal(csv.stdout, 'from,fromNamespace,fromNode,fromAddress,to,toNamespace,toNode,toAddress,disposition,decidedBy\r\na,,,192.168.0.1,b,,,192.168.0.2,DELIVERED,\r\nb,,,192.168.0.2,a,,,192.168.0.1,BLACKHOLED,\r\n');
  const svg = await pathtrace(['matrix', '-t', 'two-nodes', '--format', 'svg'], env);
  assert.match(svg.stdout, /^<svg /);
  // Exit codes as for every command: a wrong format is the command line's fault, an unknown node the service's answer.
  assert.equal((await pathtrace(['matrix', '-t', 'lab', '--format', 'letters'], env)).code, 2);
  const none = await pathtrace(['matrix', '-t', 'two-nodes', '--port', '80', '--protocol', 'icmp'], env);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /HTTP 400/);
});

test('matrix --port asks about TCP to that port: a NetworkPolicy\'s denied pairs are P', async () => {
  await s.app.inject({ method: 'PUT', url: '/v1/topologies/network-policy', payload: example('network-policy') });
  const r = await pathtrace(['matrix', '-t', 'network-policy', '--port', '5432'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /P DENIED/);
  const rows = JSON.parse((await pathtrace(['matrix', '-t', 'network-policy', '--port', '5432', '--format', 'json'], env)).stdout) as { from: string; to: string; disposition: string }[];
  assert.equal(rows.find((p) => p.from === 'ops/probe' && p.to === 'shop/db')?.disposition, 'DENIED');
  assert.equal(rows.find((p) => p.from === 'shop/web' && p.to === 'shop/db')?.disposition, 'DELIVERED');
});

test('matrix draws 450 pods as text (the letters; one row per pair would pass the answer limit)', async () => {
  const big = example('two-nodes');
  big.cluster!.pods = Array.from({ length: 450 }, (_, i) => ({ namespace: 'default', name: `q${i + 1}`, nodeName: i % 2 ? 'node-b' : 'node-a', podIPs: [{ ip: `10.1.${1 + (i % 2)}.${2 + (i >> 1)}` }] }));
  const put = await s.app.inject({ method: 'PUT', url: '/v1/topologies/big', payload: { cluster: big.cluster } });
  assert.equal(put.statusCode, 201, put.body);
  const r = await pathtrace(['matrix', '-t', 'big'], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^big, revision 1: 450 pods, 202050 pairs$/);
  assert.equal(lines[4], `  1  -${'D'.repeat(449)}  default/q1 (10.1.1.2 on node-a)`);
  assert.match(r.stdout, /counts: DELIVERED 202050\n$/);
});

test('matrix --services draws pods by Service ports, numbers the columns and names them; json is the service\'s rows', async () => {
  await s.app.inject({ method: 'PUT', url: '/v1/topologies/services', payload: example('services') });
  const r = await pathtrace(['matrix', '-t', 'services', '--services'], env);
  assert.equal(r.code, 0, r.stderr);
  const letters = (await s.app.inject('/v1/topologies/services/reachability?to=services')).json();
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `services, revision 1: 4 pods × ${letters.services.length} Service ports, ${letters.pairs} pairs`);
  // One row per pod with a letter per Service port, the service's letters as they are (D and R share their meaning).
  letters.endpoints.forEach((p: { name: string }, i: number) => assert.match(lines[2 + i]!, new RegExp(`^${i + 1}  [A-Z]{${letters.services.length}}  ${p.name} `)));
  assert.equal(lines[2 + 4], 'columns:');
  assert.equal(lines[3 + 4], '  1  svc/kube-system/kube-dns port 53 (dns)/UDP at 10.96.0.10');
  assert.equal(lines[5 + 4], '  3  svc/default/web port 80 (http)/TCP at 10.96.100.1');
  assert.doesNotMatch(r.stdout, /- itself/);
  const rows = JSON.parse((await pathtrace(['matrix', '-t', 'services', '--services', '--format', 'json'], env)).stdout) as { from: string; service: string; port: number; disposition: string }[];
  assert.deepEqual(rows, (await s.app.inject('/v1/topologies/services/reachability?to=services&format=rows')).json());
  assert.ok(rows.some((row) => row.service === 'kube-system/kube-dns' && row.port === 53 && row.disposition === 'DELIVERED'));
});

test('matrix numbers its columns downwards past nine pods', async () => {
  const many = example('two-nodes');
  many.cluster!.pods = Array.from({ length: 12 }, (_, i) => ({ namespace: 'default', name: `p${i + 1}`, nodeName: 'node-a', podIPs: [{ ip: `10.1.1.${i + 2}` }] }));
  await s.app.inject({ method: 'PUT', url: '/v1/topologies/many', payload: { cluster: many.cluster } });
  const lines = (await pathtrace(['matrix', '-t', 'many'], env)).stdout.split('\n');
  assert.equal(lines[1], '             111');
  assert.equal(lines[2], '    123456789012');
  assert.equal(lines[3], ' 1  -DDDDDDDDDDD  default/p1 (10.1.1.2 on node-a)');
  assert.equal(lines[14], '12  DDDDDDDDDDD-  default/p12 (10.1.1.13 on node-a)');
});

test('diff <rev> <rev> prints what changed and the pairs that changed outcome', async () => {
  const r = await pathtrace(['diff', '1', '2', '-t', 'lab'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    ['lab: revision 1 → 2', 'netns: ~b', 'routes of b:', '  + {"type":"blackhole","dst":"192.168.0.1"}', 'reachability: 1 of the pairs of 2 pods changed outcome', '  b → a: DELIVERED → BLACKHOLED', ''].join('\n'),
  );
  // Without revisions: the newest against the one before.
  assert.equal((await pathtrace(['diff', '-t', 'lab'], env)).stdout, r.stdout);
  const gone = await pathtrace(['diff', '1', '9', '-t', 'lab'], env);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /HTTP 404/);
});

test('installed on PATH as kubectl-pathtrace, kubectl runs it as `kubectl pathtrace` and it names itself so', async () => {
  const bin = fakeBin({});
  try {
    symlinkSync(CLI, join(bin.dir, 'kubectl-pathtrace'));
    const path = `${bin.dir}:${process.env.PATH}`;
    const direct = await runProgram(join(bin.dir, 'kubectl-pathtrace'), ['trace', '-t', 'two-nodes', 'pod-a1', 'pod-b1'], { ...env, PATH: path });
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stdout, /^DELIVERED/);
    const usage = await runProgram(join(bin.dir, 'kubectl-pathtrace'), ['trace'], { PATH: path });
    assert.match(usage.stderr, /^kubectl pathtrace trace: /);
    // The real kubectl, when this machine has one, finds plugins on PATH by their name.
    const kubectl = await runProgram('kubectl', ['pathtrace', 'trace', '-t', 'two-nodes', 'pod-a1', '10.1.2.99'], { ...env, PATH: path }).catch(() => undefined);
    if (kubectl !== undefined) {
      assert.equal(kubectl.code, 13, kubectl.stderr);
      assert.match(kubectl.stdout, /^NEIGHBOR_UNREACHABLE/);
    }
  } finally {
    bin.remove();
  }
});

// Last: the second service opens the test database afresh, which empties it under PostgreSQL.
test('with authentication on, the token comes from --token or PATHTRACE_TOKEN', async () => {
  const token = 'cli-test-token-0123456789';
  const guarded = await serve({ auth: { tokens: new TokenVerifier(parseTokens(`cli:write:${token}`, 'test'), undefined), jwt: undefined } });
  try {
    await guarded.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: example('two-nodes'), headers: { authorization: `Bearer ${token}` } });
    const args = ['trace', '-t', 'two-nodes', 'pod-a1', 'pod-b1'];
    const refused = await pathtrace(args, { PATHTRACE_URL: guarded.url });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HTTP 401/);
    assert.equal((await pathtrace(args, { PATHTRACE_URL: guarded.url, PATHTRACE_TOKEN: token })).code, 0);
    assert.equal((await pathtrace([...args, '--token', token], { PATHTRACE_URL: guarded.url })).code, 0);
    assert.equal((await pathtrace([...args, '--token', token, '--url', guarded.url])).code, 0);
  } finally {
    await guarded.close();
  }
});
