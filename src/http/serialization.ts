// Answers written from the routes' response schemas by fast-json-stringify, with the schemas' unions told apart by type.
//
// fast-json-stringify writes a union (TypeBox's Type.Union, JSON Schema's anyOf) by validating the value against each
// branch with Ajv, and compiles a branch's validator the first time an answer reaches it, on the main thread: 5-20 ms
// per kind of answer on a quiet machine, several times that on a busy one (CI saw a health check wait 138 ms during the
// first import, whose answer compiles one). Compiling them all before listening takes ~4.5 s. Nearly every union in the
// schemas is one of literals (`'cluster' | 'nodes'`) or a value or null, which the serializer tells apart by the value's
// type alone, as it writes `type: ['string', 'null']`: those are rewritten so (for the serializer only; the schemas the
// API documents and the validators of requests keep their unions). A union of two object shapes stays a union, compiled when first
// needed: only answers that workers write as bytes have one today, which test/http/serialization.test.ts keeps so.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastJsonStringify, { type Schema } from 'fast-json-stringify';

type Node = Record<string, unknown>;

/** The types the serializer tells apart by `typeof`: integer and number overlap, so a union of both stays a union. */
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

/** Keywords that hold data, not schemas: never rewritten. */
const DATA = new Set(['const', 'enum', 'default', 'examples', 'example']);

/** Keywords whose value maps names (of properties, of definitions) to schemas: every name is rewritten, `default` too. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);

/** Keywords that only pick values and say nothing of how one is written. */
const PICKING = new Set(['type', 'const', 'enum', 'description', 'title', 'examples', 'minLength', 'maxLength', 'minimum', 'maximum', 'pattern']);

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);

function typesOf(branch: Node): string[] | undefined {
  const type = branch.type ?? (branch.const === null ? 'null' : undefined);
  const types = typeof type === 'string' ? [type] : Array.isArray(type) ? (type as unknown[]) : undefined;
  return types?.every((t): t is string => typeof t === 'string' && TYPES.has(t)) ? types : undefined;
}

/**
 * The branches of a union as one schema whose `type` lists theirs, when the serializer can tell them apart by type
 * alone: no branch is itself a union or a reference, at most one branch says more than which values it takes (its
 * properties, items or format are kept) and no other branch has a type of it, and not both integer and number.
 */
function byType(branches: unknown[]): Node | undefined {
  // Every branch's types, a type once per branch that has it.
  const listed: string[] = [];
  let shaped: { branch: Node; types: string[] } | undefined;
  for (const branch of branches) {
    if (!isNode(branch)) return undefined;
    const types = typesOf(branch);
    if (types === undefined) return undefined;
    listed.push(...types);
    if (Object.keys(branch).some((key) => !PICKING.has(key))) {
      if (shaped !== undefined) return undefined;
      shaped = { branch, types };
    }
  }
  if (listed.includes('integer') && listed.includes('number')) return undefined;
  if (shaped?.types.some((t) => listed.indexOf(t) !== listed.lastIndexOf(t))) return undefined;
  const types = [...new Set(listed)];
  // The merged schema must not keep a branch's `const`: the serializer would write that constant for every value.
  const { const: _const, enum: _enum, type: _type, ...kept } = shaped?.branch ?? {};
  return { ...kept, type: types.length === 1 ? types[0] : types };
}

/** `node` with `rewrite` applied to each of its values; itself when none changed. */
function rewriteValues<T extends Node | unknown[]>(node: T, rewrite: (key: string, value: unknown) => unknown): T {
  let out: Node | unknown[] | undefined;
  for (const [key, value] of Object.entries(node)) {
    const rewritten = rewrite(key, value);
    if (rewritten !== value) ((out ??= Array.isArray(node) ? [...node] : { ...node }) as Node)[key] = rewritten;
  }
  return (out ?? node) as T;
}

/** The schema with every union the serializer can tell apart by type rewritten; unchanged parts are shared, not copied. */
export function serializable(schema: unknown): unknown {
  if (Array.isArray(schema)) return rewriteValues(schema, (_key, item) => serializable(item));
  if (!isNode(schema)) return schema;
  const node = rewriteValues(schema, (key, value) => {
    if (DATA.has(key)) return value;
    return SCHEMA_MAPS.has(key) && isNode(value) ? rewriteValues(value, (_name, sub) => serializable(sub)) : serializable(value);
  });
  const merged = Array.isArray(node.anyOf) ? byType(node.anyOf) : undefined;
  if (merged === undefined) return node;
  const { anyOf: _anyOf, ...rest } = node;
  return { ...rest, ...merged };
}

async function serializationPlugin(app: FastifyInstance) {
  app.setSerializerCompiler(({ schema }) => fastJsonStringify(serializable(schema) as Schema));
}

export default fp(serializationPlugin, { name: 'serialization' });
