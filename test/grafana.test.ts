// examples/grafana/ is a dashboard a user imports as it is: every Infinity query in it is asked of the service listening
// on a port (as Grafana's backend asks it), with the dashboard's own default variables, names a route and parameters
// that openapi.yaml documents, and must get an answer of the type it parses, carrying every column it selects, filters
// on or summarizes by; its links open the page with a query the page reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { openTestApp, type TestApp } from './helpers/app.js';
import { example } from './helpers/examples.js';

interface Target {
  type: 'json' | 'csv';
  source: string;
  parser: string;
  url: string;
  url_options: { method: string };
  columns: { selector: string }[];
  filterExpression?: string;
  summarizeExpression?: string;
  summarizeBy?: string;
}
interface Panel {
  title: string;
  datasource: { type: string };
  targets: Target[];
  fieldConfig?: { defaults?: { links?: { url: string }[] } };
}

const dashboard = JSON.parse(readFileSync(new URL('../examples/grafana/pathtrace-reachability.json', import.meta.url), 'utf8'));
const variables = new Map<string, string>(dashboard.templating.list.map((v: { name: string; query: string }) => [v.name, v.query]));
const BASE = 'http://pathtrace.test';
const expand = (s: string) => s.replace(/\$\{(\w+)\}/g, (all, name: string) => (name === 'pathtrace' ? BASE : (variables.get(name) ?? all)));

interface Operation {
  parameters?: { name: string; in: string }[];
}
const spec = parse(readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, Operation>> };

/** The operation of openapi.yaml that answers a method and a concrete path (templates such as {name} match a segment). */
function operationOf(method: string, path: string): Operation | undefined {
  for (const [template, operations] of Object.entries(spec.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(path)) return operations[method.toLowerCase()];
  }
  return undefined;
}

let t: TestApp;
let served: string;
before(async () => {
  t = await openTestApp();
  const doc = example('two-nodes');
  doc.cluster!.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc });
  served = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
after(() => t.close());

test('the dashboard asks for the Infinity datasource and names its variables', () => {
  assert.equal(dashboard.__inputs[0].pluginId, 'yesoreyeram-infinity-datasource');
  assert.deepEqual([...variables.keys()], ['pathtrace', 'topology', 'namespace']);
  assert.equal(variables.get('topology'), 'two-nodes', 'the README\'s topology, so that the dashboard shows something at once');
});

for (const panel of dashboard.panels as Panel[]) {
  test(`panel "${panel.title}": its query is answered with the columns it reads`, async () => {
    assert.equal(panel.datasource.type, 'yesoreyeram-infinity-datasource');
    for (const target of panel.targets) {
      assert.equal(target.source, 'url');
      const url = new URL(expand(target.url));
      assert.equal(url.origin, BASE);
      // A route and parameters the service documents: the dashboard breaks with the spec, not silently.
      const operation = operationOf(target.url_options.method, url.pathname);
      assert.ok(operation, `${target.url_options.method} ${url.pathname} is a route of openapi.yaml`);
      const documented = new Set((operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name));
      for (const name of url.searchParams.keys()) assert.ok(documented.has(name), `${name} is a documented parameter of ${url.pathname}`);
      const res = await fetch(`${served}${url.pathname}${url.search}`, { method: target.url_options.method });
      const body = await res.text();
      assert.equal(res.status, 200, body);
      let fields: string[];
      if (target.type === 'json') {
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const rows = JSON.parse(body) as Record<string, unknown>[];
        assert.ok(Array.isArray(rows) && rows.length > 0, 'an array of rows, as Infinity takes it without a root selector');
        fields = Object.keys(rows[0]!);
      } else {
        assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
        fields = body.split('\r\n')[0]!.split(',');
      }
      const used = [
        ...target.columns.map((c) => c.selector),
        ...[target.filterExpression, target.summarizeExpression].flatMap((e) => [...(e ?? '').matchAll(/\b([a-z][A-Za-z]+)\b(?!\()/g)].map((m) => m[1]!)),
        ...(target.summarizeBy ? [target.summarizeBy] : []),
      ];
      for (const field of used) assert.ok(fields.includes(field), `${field} is a field of the answer (${fields.join(', ')})`);
    }
    for (const link of panel.fieldConfig?.defaults?.links ?? []) {
      const page = new URL(expand(link.url).replace(/\$\{__data\.fields\.(\w+)\}/g, 'x'));
      assert.equal(page.pathname, '/');
      assert.deepEqual([...page.searchParams.keys()], ['topology', 'from', 'to'], 'what the page reads from its URL');
    }
  });
}
