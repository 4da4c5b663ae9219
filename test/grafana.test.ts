// examples/grafana/ is a dashboard a user imports as it is: every Infinity query in it is asked of the service, with
// the dashboard's own default variables, and must get an answer of the type it parses, carrying every column it
// selects, filters on or summarizes by; its links open the page with a query the page reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

let t: TestApp;
before(async () => {
  t = await openTestApp();
  const doc = example('two-nodes');
  doc.cluster!.network = { cidr: '192.168.0.0/24', gateway: '192.168.0.1' };
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: doc });
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
      const res = await t.app.inject({ method: target.url_options.method as 'GET', url: `${url.pathname}${url.search}` });
      assert.equal(res.statusCode, 200, res.body);
      let fields: string[];
      if (target.type === 'json') {
        assert.match(res.headers['content-type'] as string, /^application\/json/);
        const rows = res.json() as Record<string, unknown>[];
        assert.ok(Array.isArray(rows) && rows.length > 0, 'an array of rows, as Infinity takes it without a root selector');
        fields = Object.keys(rows[0]!);
      } else {
        assert.match(res.headers['content-type'] as string, /^text\/csv/);
        fields = res.body.split('\r\n')[0]!.split(',');
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
