// The container image and the Kubernetes manifests agree with the server they ship: the port it listens on, the probes'
// endpoints, the environment it reads, a non-root user, no dev dependencies at run time, and authentication wherever
// the service listens off loopback (which it refuses otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkExposure, loadConfig } from '../src/config.js';
import { openTestApp } from './helpers/app.js';
import { freePort } from './helpers/net.js';

const root = new URL('..', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every environment variable the server reads, from its source. */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) for (const m of read(join(dir, e.name)).matchAll(/env(?:\.|, ')([A-Z][A-Z0-9_]+)/g)) names.add(m[1]!);
    }
  };
  walk('src');
  return names;
}

interface Stage {
  from: string;
  lines: string[];
}

function dockerfile(): Stage[] {
  const stages: Stage[] = [];
  for (const line of read('Dockerfile').split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('FROM ')) stages.push({ from: line, lines: [] });
    else stages.at(-1)!.lines.push(line);
  }
  return stages;
}

type Manifest = { kind: string; spec: Record<string, any>; metadata: Record<string, any>; stringData: Record<string, string> };
const manifests = (): Manifest[] =>
  ['deployment.yaml', 'service.yaml', 'secret.example.yaml'].flatMap((f) => parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => d.toJS() as Manifest));

test('the image: multi-stage, runs the compiled server as npm start does, non-root, on the port it exposes', () => {
  const stages = dockerfile();
  assert.ok(stages.length >= 2, 'multi-stage');
  const final = stages.at(-1)!;
  const start = JSON.parse(read('package.json')).scripts.start as string;
  const cmd = final.lines.find((l) => l.startsWith('CMD '))!;
  assert.deepEqual(JSON.parse(cmd.slice(4)), start.split(' '), 'CMD is npm start');
  const user = final.lines.find((l) => l.startsWith('USER '))!.slice(5);
  assert.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root user (runAsNonRoot can check it)');
  const env = Object.fromEntries(final.lines.filter((l) => l.startsWith('ENV ')).flatMap((l) => [...l.slice(4).matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])));
  assert.equal(final.lines.find((l) => l.startsWith('EXPOSE '))!.slice(7), env.PORT);
  assert.ok(final.lines.some((l) => /^COPY migrations /.test(l)), 'migrations run at start-up');
  assert.ok(final.lines.some((l) => /^COPY public /.test(l)), 'the page is served from public/');
  assert.ok(final.lines.some((l) => /^COPY openapi\.yaml /.test(l)), 'the contract is served at /openapi.yaml');
  const depsStage = stages.find((s) => final.lines.some((l) => l.includes(`--from=${s.from.split(' AS ')[1]}`) && l.includes('node_modules')))!;
  assert.ok(depsStage.lines.some((l) => /npm ci .*--omit=dev/.test(l)), 'run-time node_modules without dev dependencies');
  const known = variablesRead();
  for (const name of Object.keys(env)) assert.ok(name === 'NODE_ENV' || known.has(name), `the server does not read ${name}`);
});

test('the manifests: probes on the real endpoints, ports by name, environment the server reads, auth off loopback', async () => {
  const all = manifests();
  const deployment = all.find((m) => m.kind === 'Deployment')!;
  const service = all.find((m) => m.kind === 'Service')!;
  const secret = all.find((m) => m.kind === 'Secret')!;
  const pod = deployment.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.deepEqual(deployment.spec.selector.matchLabels, service.spec.selector);
  for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(deployment.spec.template.metadata.labels[k], v);
  const [container] = pod.containers;
  const ports = new Map<string, number>(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
  assert.ok(ports.has(service.spec.ports[0].targetPort), 'the Service targets a named container port');

  // The environment as the container gets it: literal values, and the example Secret's.
  const env: Record<string, string> = {};
  const known = variablesRead();
  for (const e of container.env) {
    assert.ok(known.has(e.name), `the server does not read ${e.name}`);
    env[e.name] = e.value ?? secret.stringData[e.valueFrom.secretKeyRef.key];
    if (e.valueFrom) assert.ok(e.valueFrom.secretKeyRef.key in secret.stringData, `the example Secret has ${e.valueFrom.secretKeyRef.key}`);
  }
  const config = loadConfig(env);
  assert.equal(ports.get('http'), config.port, 'the container port is the one the server listens on');
  checkExposure(config, config.auth.tokens.length > 0 || config.auth.oidc !== undefined);
  assert.ok(config.drainMs + config.shutdownTimeoutMs < pod.terminationGracePeriodSeconds * 1000, 'drain and shutdown fit the grace period');

  const t = await openTestApp();
  try {
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      assert.ok(ports.has(probe.httpGet.port), `probe port ${probe.httpGet.port} is a named container port`);
      const res = await t.app.inject(probe.httpGet.path);
      assert.equal(res.statusCode, 200, `${probe.httpGet.path} answers 200 without a token`);
    }
    assert.equal((await t.app.inject(deployment.spec.template.metadata.annotations['prometheus.io/path'])).statusCode, 200);
  } finally {
    await t.close();
  }
});

test('README lists every variable the server reads', () => {
  const readme = read('README.md');
  for (const name of variablesRead()) assert.match(readme, new RegExp(`\`${name}\``), `README's table lacks ${name}`);
});

test('the compiled server runs with production dependencies only (what the image holds)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pathtrace-image-'));
  try {
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(dir, f));
    const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8' });
    assert.equal(install.status, 0, install.stderr);
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    cpSync(join(root, 'migrations'), join(dir, 'migrations'), { recursive: true });
    cpSync(join(root, 'public'), join(dir, 'public'), { recursive: true });
    cpSync(join(root, 'openapi.yaml'), join(dir, 'openapi.yaml'));
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/server.js'], {
      cwd: dir,
      env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 120_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline && child.exitCode === null) {
        status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(status, 200, err);
      assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200, 'the page is served from the image');
      assert.equal((await fetch(`http://127.0.0.1:${port}/openapi.yaml`)).status, 200, 'the contract is served from the image');
    } finally {
      // The server writes its data folder (the embedded database's WAL) until it has stopped: removing the folder before
      // it exits failed with ENOTEMPTY.
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
