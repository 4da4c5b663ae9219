// Answers written from response schemas: unions the serializer can tell apart by type are written without Ajv (a branch's
// validator compiled on the main thread at the first answer held health checks for up to 138 ms in CI), and what is
// written is byte for byte what the schemas as declared write.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Type, type TSchema } from '@sinclair/typebox';
import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import type { RouteOptions } from 'fastify';
import { serializable } from '../../src/http/serialization.js';
import { openTestApp, type TestApp } from '../helpers/app.js';

const unions = (schema: unknown, at = ''): string[] => {
  if (typeof schema !== 'object' || schema === null) return [];
  return Object.entries(schema).flatMap(([key, value]) =>
    key === 'examples' || key === 'const' || key === 'enum' ? [] : [...(key === 'anyOf' || key === 'oneOf' ? [at] : []), ...unions(value, `${at}/${key}`)],
  );
};

/** Writes each value with the schema as declared and as rewritten: the same bytes, and the rewritten one has no union left where `left` says. */
function sameAnswers(schema: TSchema, values: unknown[], left: string[] = []) {
  const rewritten = serializable(schema);
  assert.deepEqual(unions(rewritten), left);
  const declared = fastJsonStringify(schema as unknown as Schema);
  const written = fastJsonStringify(rewritten as Schema);
  for (const value of values) assert.equal(written(value), declared(value), JSON.stringify(value));
}

test('a union of literals is written as a string, and a value or null as either, whatever the property is named', () => {
  const Protocol = Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('sctp')]);
  const schema = Type.Object({ protocol: Protocol, description: Type.Union([Type.String(), Type.Null()]), port: Type.Optional(Type.Union([Type.Integer(), Type.Null()])), default: Type.Optional(Protocol) });
  assert.deepEqual(JSON.parse(JSON.stringify(serializable(schema))), {
    type: 'object',
    required: ['protocol', 'description'],
    properties: { protocol: { type: 'string' }, description: { type: ['string', 'null'] }, port: { type: ['integer', 'null'] }, default: { type: 'string' } },
  });
  sameAnswers(schema, [
    { protocol: 'udp', description: null },
    { protocol: 'tcp', description: 'a "quoted" \u2192 text', port: 443 },
    { protocol: 'sctp', description: '', port: null, default: 'tcp', extra: 'not written' },
  ]);
});

test('an object or null keeps its properties; a list or a string keeps its items', () => {
  const Route = Type.Object({ dst: Type.String(), metric: Type.Optional(Type.Integer()) });
  const schema = Type.Object({ route: Type.Union([Route, Type.Null()]), via: Type.Union([Type.Array(Type.String()), Type.String()]) });
  sameAnswers(schema, [
    { route: null, via: 'eth0' },
    { route: { dst: '10.0.0.0/8', metric: 100, dev: 'not written' }, via: ['eth0', 'eth1'] },
  ]);
});

test('unions told apart only by their content stay unions: two object shapes, integer or number, a literal beside a string, a reference', () => {
  const shapes = Type.Union([Type.Object({ kind: Type.Literal('route'), dst: Type.String() }), Type.Object({ kind: Type.Literal('rule'), priority: Type.Integer() })]);
  sameAnswers(Type.Object({ step: shapes }), [{ step: { kind: 'route', dst: '0.0.0.0/0' } }, { step: { kind: 'rule', priority: 32766 } }], ['/properties/step']);
  sameAnswers(Type.Object({ n: Type.Union([Type.Integer(), Type.Number()]) }), [{ n: 1 }, { n: 1.5 }], ['/properties/n']);
  const auto = Type.Union([Type.Literal('auto'), Type.String({ format: 'date-time' })]);
  sameAnswers(Type.Object({ at: auto }), [{ at: 'auto' }], ['/properties/at']);
  const withRef = Type.Object({ x: Type.Union([Type.Unsafe({ $ref: '#/definitions/s' }), Type.Null()]) }, { definitions: { s: Type.String() } } as object);
  sameAnswers(withRef, [{ x: 'a' }, { x: null }], ['/properties/x']);
});

test('a schema without unions is returned as it is, and examples are left alone', () => {
  const schema = Type.Object({ a: Type.String(), b: Type.Array(Type.Integer()) }, { examples: [{ anyOf: [{ type: 'string' }, { type: 'null' }] }] });
  assert.equal(serializable(schema), schema);
});

let t: TestApp;
const routes: RouteOptions[] = [];
before(async () => {
  t = await openTestApp({ beforeRoutes: async (app) => void app.addHook('onRoute', (route) => void routes.push(route)) });
});
after(() => t.close());

test('every answer the main thread writes from an object needs no Ajv; the unions left are in answers a worker writes as bytes', () => {
  const left = routes.flatMap((route) =>
    Object.entries((route.schema?.response ?? {}) as Record<string, unknown>)
      .filter(([, schema]) => unions(serializable(schema)).length > 0)
      .map(([status]) => `${route.method} ${route.url} ${status}`),
  );
  // These routes answer with what a worker wrote (sendEncoded: a string or bytes), which Fastify sends without its
  // serializer: their schemas document the answer. A route that answers an object with a union left would compile
  // Ajv on its first answer, on the main thread.
  assert.deepEqual(left.sort(), [
    'GET /v1/topologies/:name 200',
    'GET /v1/topologies/:name/reachability 200',
    'GET /v1/topologies/:name/revisions/:revision 200',
    'GET /v1/topologies/:name/trace 200',
    'HEAD /v1/topologies/:name 200',
    'HEAD /v1/topologies/:name/reachability 200',
    'HEAD /v1/topologies/:name/revisions/:revision 200',
    'HEAD /v1/topologies/:name/trace 200',
    'POST /v1/topologies/:name/traces 200',
    'POST /v1/traces 200',
  ]);
});
