// openapi.yaml is the published contract, generated from the route schemas by tools/openapi.ts: this test fails while
// the committed file is not what the routes say, and holds what they say to what the contract promises (every route
// documented with its errors as problem documents, every example answered or valid as documented, the linter's
// recommended rules). The routes are collected with an onRoute hook added through Fastify's documented
// 'fastify.initialization' diagnostics channel, which fires inside buildApp() before any route is registered: the test
// sees exactly the routes, methods and schemas the app has, without a second copy of its wiring.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openapiYaml } from '../tools/openapi.js';
import { OPENAPI_FILE } from '../src/http/routes/openapi.js';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { buildApp } from '../src/app.js';
import { openDb, type Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';

// ---- openapi.yaml, as far as this test reads it ----

type JsonObject = { [key: string]: unknown };
interface Ref {
  $ref: string;
}
interface Schema extends JsonObject {}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema | Ref;
  example?: unknown;
}
interface Example {
  summary?: string;
  value?: unknown;
  /** Our extension: what the app answers to a request body example that is not meant to be valid. */
  'x-expect'?: { status: number; problem?: string };
}
interface MediaType {
  schema?: Schema | Ref;
  example?: unknown;
  examples?: Record<string, Example | Ref>;
}
interface Response {
  description?: string;
  headers?: Record<string, unknown>;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: (Parameter | Ref)[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> } | Ref;
  responses?: Record<string, Response | Ref>;
}
type PathItem = { parameters?: (Parameter | Ref)[] } & { [method: string]: Operation | undefined };
interface OpenApi {
  openapi: string;
  info: { title: string; version: string; description?: string };
  servers?: { url: string }[];
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Schema> } & JsonObject;
}

const committed = readFileSync(OPENAPI_FILE, 'utf8');
const spec = parse(committed) as OpenApi;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

/** The value a local reference ("#/components/...") points at; throws when it points at nothing. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`openapi.yaml: ${ref} is not a local reference`);
  let node: unknown = spec;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node !== null && typeof node === 'object' ? (node as JsonObject)[key] : undefined;
    if (node === undefined) throw new Error(`openapi.yaml: ${ref} points at nothing (no ${key})`);
  }
  return node;
}

const isRef = (node: unknown): node is Ref =>
  node !== null && typeof node === 'object' && typeof (node as JsonObject).$ref === 'string';

/** Follows $ref until it reaches the value itself. */
function deref<T>(node: T | Ref): T;
function deref<T>(node: T | Ref | undefined): T | undefined;
function deref<T>(node: T | Ref | undefined): T | undefined {
  let n: unknown = node;
  for (let hops = 0; isRef(n); hops++) {
    if (hops > 20) throw new Error(`openapi.yaml: a $ref cycle through ${n.$ref}`);
    n = resolve(n.$ref);
  }
  return n as T | undefined;
}

interface Op {
  /** "GET /v1/topologies/{name} (getTopology)", for messages. */
  label: string;
  method: string;
  path: string;
  /** The path as Fastify writes it: {name} -> :name. */
  route: string;
  op: Operation;
  parameters: Parameter[];
}

function operations(): Op[] {
  const ops: Op[] = [];
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      // Operation parameters override the path item's ones with the same name and location.
      const byKey = new Map<string, Parameter>();
      for (const p of [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x) => deref<Parameter>(x))) {
        byKey.set(`${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`, p);
      }
      const upper = method.toUpperCase();
      ops.push({
        label: `${upper} ${path} (${op.operationId ?? 'no operationId'})`,
        method: upper,
        path,
        route: path.replace(/\{([^}]+)\}/g, ':$1'),
        op,
        parameters: [...byKey.values()],
      });
    }
  }
  return ops;
}

// ---- comparing JSON ----

const json = (value: unknown): unknown => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** Where two JSON values differ, as "at <pointer>: ..." lines (the first few). */
function differences(documented: unknown, live: unknown, at = '', out: string[] = []): string[] {
  if (out.length >= 5) return out;
  const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
  const bothObjects =
    documented !== null && live !== null && typeof documented === 'object' && typeof live === 'object' &&
    Array.isArray(documented) === Array.isArray(live);
  if (!bothObjects) {
    if (!Object.is(documented, live)) out.push(`at "${at}": openapi.yaml has ${show(documented)}, the app has ${show(live)}`);
    return out;
  }
  const d = documented as JsonObject;
  const l = live as JsonObject;
  for (const key of new Set([...Object.keys(d), ...Object.keys(l)])) {
    differences(d[key], l[key], `${at}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
  }
  return out;
}

function noProblems(problems: string[], heading: string) {
  assert.equal(problems.length, 0, `${heading}:\n  - ${problems.join('\n  - ')}`);
}

// ---- the app, with every route it registers ----

interface SeenRoute {
  method: string;
  url: string;
  schema: FastifySchema | undefined;
}

let app: FastifyInstance;
let db: Db;
const seen: SeenRoute[] = [];

before(async () => {
  db = await openDb(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { memory: true });
  await migrate(db);
  const onInit = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRoute', (route: RouteOptions) => {
      for (const method of [route.method].flat()) seen.push({ method: method.toUpperCase(), url: route.url, schema: route.schema });
    });
  };
  dc.subscribe('fastify.initialization', onInit);
  try {
    app = await buildApp({ db });
  } finally {
    dc.unsubscribe('fastify.initialization', onInit);
  }
  await app.ready();
  assert.ok(seen.length > 0, 'the onRoute hook saw no route: Fastify no longer publishes fastify.initialization?');
});

after(async () => {
  await app?.close();
  await db?.close();
});

/** The routes the app answers, HEAD left out (Fastify adds it to every GET). */
const appRoutes = () => seen.filter((r) => r.method !== 'HEAD');
const routeOf = (op: Op) => seen.find((r) => r.method === op.method && r.url === op.route);

// ---- the checks ----

describe('openapi.yaml', () => {
  test('is an OpenAPI 3.1 document whose every $ref resolves', () => {
    assert.equal(spec.openapi, '3.1.0');
    assert.equal(spec.info?.title, 'pathtrace');
    assert.ok(spec.servers?.some((s) => s.url === 'http://127.0.0.1:8080'), 'servers: http://127.0.0.1:8080 is missing');
    const problems: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (node === null || typeof node !== 'object') return;
      if (isRef(node)) {
        try {
          resolve(node.$ref);
        } catch (err) {
          problems.push(`${at}: ${(err as Error).message}`);
        }
      }
      for (const [key, value] of Object.entries(node)) walk(value, `${at}/${key}`);
    };
    walk(spec, '');
    noProblems(problems, 'openapi.yaml has references that point at nothing');
  });

  test('(a) documents every route of the app, and only those', () => {
    const ops = operations();
    const documented = new Set(ops.map((o) => `${o.method} ${o.route}`));
    const notServed = ops
      .filter((o) => !routeOf(o) || !app.hasRoute({ method: o.method as 'GET', url: o.route }))
      .map((o) => `openapi.yaml documents ${o.label}, the app has no route ${o.method} ${o.route}`);
    const undocumented = appRoutes()
      .filter((r) => !documented.has(`${r.method} ${r.url}`))
      .map((r) => `the app serves ${r.method} ${r.url}, openapi.yaml does not document it (paths["${r.url.replace(/:([^/]+)/g, '{$1}')}"].${r.method.toLowerCase()})`);
    noProblems([...notServed, ...undocumented], 'openapi.yaml and the routes of the app differ');
  });

  test('(a) every operation has a unique operationId, a summary and a description', () => {
    const problems: string[] = [];
    const ids = new Map<string, string>();
    for (const o of operations()) {
      for (const field of ['operationId', 'summary', 'description'] as const) {
        if (typeof o.op[field] !== 'string' || o.op[field] === '') problems.push(`${o.label}: no ${field}`);
      }
      const id = o.op.operationId;
      if (id !== undefined && ids.has(id)) problems.push(`${o.label}: operationId ${id} is also the one of ${ids.get(id)}`);
      if (id !== undefined) ids.set(id, o.label);
    }
    noProblems(problems, 'operations are incompletely described');
  });

  test('is what the route schemas generate (npx tsx tools/openapi.ts writes it)', async () => {
    assert.ok((await openapiYaml()) === committed, 'openapi.yaml is not current: run npx tsx tools/openapi.ts and commit it');
  });

  test('passes the linter with its recommended rules', async () => {
    const lint = promisify(execFile)('npx', ['redocly', 'lint', OPENAPI_FILE, '--format=summary'], { cwd: new URL('..', import.meta.url) });
    await assert.doesNotReject(lint, (err: Error & { stdout?: string }) => `redocly lint failed:\n${err.stdout ?? err.message}`);
  });

  test('(c) documents every status a route declares a response schema for, with that schema', () => {
    const problems: string[] = [];
    for (const o of operations()) {
      const route = routeOf(o);
      const responses = (route?.schema?.response ?? {}) as Record<string, unknown>;
      for (const [status, schema] of Object.entries(responses)) {
        const key = status.replace(/xx$/, 'XX');
        const response = deref(o.op.responses?.[key]);
        if (!response) {
          problems.push(`${o.label}: the route declares a ${status} response, openapi.yaml does not document it`);
          continue;
        }
        const declared = schema as { content?: Record<string, unknown>; type?: string };
        // A response without a body (204, 304) is declared as type null and documented without content.
        const declaredContent = declared.content ?? (declared.type === 'null' ? {} : { 'application/json': {} });
        for (const type of Object.keys(declaredContent)) {
          if (!response.content?.[type]?.schema) problems.push(`${o.label}: ${key} has no ${type} schema`);
        }
      }
      const body = route?.schema?.body;
      const documentedBody = deref(o.op.requestBody);
      if (body !== undefined && !documentedBody) problems.push(`${o.label}: the route takes a body, openapi.yaml documents no requestBody`);
      // A form body (the Slack command) is parsed and checked by its route, not by a JSON schema.
      const jsonBody = documentedBody?.content?.['application/json'] !== undefined;
      if (body === undefined && documentedBody && jsonBody) problems.push(`${o.label}: documents a requestBody, the route takes none`);
      if (body !== undefined && documentedBody) {
        if (!documentedBody.content?.['application/json']?.schema) problems.push(`${o.label}: the requestBody has no application/json schema`);
      }
    }
    noProblems(problems, 'responses or request bodies in openapi.yaml do not match the routes');
  });

  test('(d) every request body example is answered as documented (201 unless it says otherwise)', async () => {
    const problems: string[] = [];
    const created: string[] = [];
    const suffix = `${process.pid.toString(36)}${Date.now().toString(36)}`;
    let n = 0;
    for (const o of operations()) {
      const media = deref(o.op.requestBody)?.content?.['application/json'];
      if (!media) continue;
      const examples: [string, Example][] = Object.entries(media.examples ?? {}).map(([k, e]) => [k, deref<Example>(e)]);
      if (media.example !== undefined) examples.push(['example', { value: media.example }]);
      if (examples.length === 0) problems.push(`${o.label}: the requestBody has no example`);
      for (const [key, example] of examples) {
        const name = `openapi-${n++}-${suffix}`;
        const body = structuredClone(example.value) as JsonObject;
        if (body !== null && typeof body === 'object' && 'name' in body) body.name = name;
        const url = o.path.replace(/\{([^}]+)\}/g, (_, param: string) => (param === 'name' ? name : `{${param}}`));
        if (url.includes('{')) {
          problems.push(`${o.label}: example ${key}: the test does not know how to fill ${url}`);
          continue;
        }
        // Questions about a stored topology need one: the seed's two-node cluster under the example's name.
        const asks = o.path.endsWith('/traces') && (o.path.includes('{name}') || (body !== null && typeof body === 'object' && 'base' in body));
        if (asks) {
          const seed = JSON.parse(readFileSync(new URL('../examples/two-nodes.json', import.meta.url), 'utf8'));
          await app.inject({ method: 'POST', url: '/v1/topologies', payload: { ...seed, name } });
          created.push(name);
          if ('base' in body) body.base = name;
        }
        const expected = example['x-expect']?.status ?? (asks ? 200 : 201);
        const res = await app.inject({ method: o.method as 'POST', url, payload: body });
        if (res.statusCode < 300) created.push(name);
        if (res.statusCode !== expected) {
          problems.push(`${o.label}: example "${key}" was answered ${res.statusCode}, not ${expected}: ${res.body}`);
          continue;
        }
        const problemRef = example['x-expect']?.problem;
        if (problemRef !== undefined) {
          const { instance: _documentedInstance, ...want } = (deref<Example>({ $ref: problemRef }).value ?? {}) as JsonObject;
          const { instance: _instance, ...got } = res.json() as JsonObject;
          for (const d of differences(want, got)) problems.push(`${o.label}: example "${key}": the answer ${problemRef} ${d}`);
        }
      }
    }
    for (const name of created) await app.inject({ method: 'DELETE', url: `/v1/topologies/${name}` });
    noProblems(problems, 'request body examples in openapi.yaml are not answered as documented');
  });

  test('(e) every operation answers its errors as documented problem documents', () => {
    const problems: string[] = [];
    for (const o of operations()) {
      const responses = Object.entries(o.op.responses ?? {}).map(([status, r]) => [status, deref<Response>(r)] as const);
      for (const [status, r] of responses) {
        if (!/^[45]/.test(status)) continue;
        const types = Object.keys(r.content ?? {});
        const schema = r.content?.['application/problem+json']?.schema;
        if (types.length !== 1 || !isRef(schema) || schema.$ref !== '#/components/schemas/Problem') {
          problems.push(`${o.label}: ${status} is not answered as application/problem+json with the Problem schema (${types.join(', ') || 'no content'})`);
        }
      }
      // An operation that takes no input (the probes) cannot be answered 4xx; every other one must say how it is.
      const takesInput = o.parameters.length > 0 || o.op.requestBody !== undefined;
      if (takesInput && !responses.some(([status]) => /^4/.test(status))) {
        problems.push(`${o.label}: takes input but documents no 4xx problem response`);
      }
      const route = routeOf(o);
      if (!takesInput && (route?.schema?.params ?? route?.schema?.querystring ?? route?.schema?.body) !== undefined) {
        problems.push(`${o.label}: documents no input, but the route validates some`);
      }
    }
    noProblems(problems, 'error responses in openapi.yaml are missing or not problem documents');
  });

  test('(f) every response and parameter example matches its schema', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ components: { schemas: spec.components.schemas } }, 'openapi');
    const check = (schema: Schema | Ref | undefined, value: unknown, where: string, problems: string[]) => {
      if (schema === undefined) return;
      const validate = ajv.compile(isRef(schema) ? { $ref: `openapi${schema.$ref}` } : schema);
      if (!validate(value)) {
        for (const e of validate.errors ?? []) problems.push(`${where}: "${e.instancePath}" ${e.message}`);
      }
    };
    const problems: string[] = [];
    for (const o of operations()) {
      for (const [status, ref] of Object.entries(o.op.responses ?? {})) {
        for (const [type, media] of Object.entries(deref<Response>(ref).content ?? {})) {
          const where = `${o.label}: ${status} ${type}`;
          if (media.example === undefined && media.examples === undefined) problems.push(`${where}: no example`);
          if (media.example !== undefined) check(media.schema, media.example, `${where} example`, problems);
          for (const [key, e] of Object.entries(media.examples ?? {})) {
            check(media.schema, deref<Example>(e).value, `${where} example ${key}`, problems);
          }
        }
      }
      for (const p of o.parameters) {
        if (p.example !== undefined) check(p.schema, p.example, `${o.label}: ${p.in} parameter ${p.name} example`, problems);
      }
    }
    noProblems(problems, 'examples in openapi.yaml do not match their schemas');
  });
});
