// Documents checked against their schemas as the service reads them: bodies as sent (no coercion, no defaults written
// into the user's document, unknown properties rejected rather than stripped); query strings and path parameters, text by
// nature, with numbers coerced. Ajv's errors become one entry per offending place, with a JSON pointer. Used by the HTTP
// layer for requests and by the workers for documents assembled from them (a what-if's merge-patched base).
import { Ajv, type ErrorObject } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { DataError, pointerToken, type InvalidParam } from './data-error.js';

// Enough to fix a document in one go, not so many that a badly broken 30 MB upload produces a 30 MB answer.
export const MAX_REPORTED_ERRORS = 100;

export const bodyAjv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: true });
export const paramAjv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, removeAdditional: false, strict: true });

function describe(e: ErrorObject): { path: string; detail: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: `${e.instancePath}/${pointerToken(String(p.additionalProperty))}`, detail: 'is not a known property' };
    case 'required':
      return { path: `${e.instancePath}/${pointerToken(String(p.missingProperty))}`, detail: 'is required' };
    case 'const':
      return { path: e.instancePath, detail: `must be ${JSON.stringify(p.allowedValue)}` };
    default:
      return { path: e.instancePath, detail: e.message ?? e.keyword };
  }
}

// A union (anyOf) that fails reports every branch's errors. The branches whose discriminating `const` (say `plugin:
// "calico"` of `cni`) or type matched are the ones the user meant: only their errors are reported. When no branch matched,
// one line listing the accepted constants says more than the noise would.
function collapseUnions(errors: ErrorObject[]): ErrorObject[] {
  let result = errors;
  for (const union of errors.filter((e) => e.keyword === 'anyOf')) {
    if (!result.includes(union)) continue; // removed with an enclosing union
    const prefix = `${union.schemaPath}/`;
    const under = (e: ErrorObject) =>
      e.schemaPath.startsWith(prefix) && (e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`));
    const inside = result.filter(under);
    const byBranch = new Map<string, ErrorObject[]>();
    for (const e of inside) {
      const branch = e.schemaPath.slice(prefix.length).split('/')[0]!;
      byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
    }
    const mismatch = (e: ErrorObject) => e.keyword === 'const' || (e.keyword === 'type' && e.instancePath === union.instancePath);
    const meant = [...byBranch.values()].filter((es) => !es.some(mismatch)).flat();
    const constErrors = inside.filter((e) => e.keyword === 'const');
    const constants = [...new Set(constErrors.map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)))];
    const replacement: ErrorObject[] =
      meant.length > 0
        ? meant
        : [
            {
              ...union,
              keyword: 'union',
              instancePath: constErrors[0]?.instancePath ?? union.instancePath,
              message: constants.length > 0 ? `must be one of ${constants.join(', ')}` : 'matches none of the accepted forms',
            },
          ];
    result = [...result.filter((e) => e !== union && !under(e)), ...replacement];
  }
  return result;
}

export function problemDetailsOfAjv(errors: ErrorObject[], context: string): InvalidParam[] {
  const seen = new Set<string>();
  const out: InvalidParam[] = [];
  for (const e of collapseUnions(errors)) {
    // An `if` whose `then` failed reports the `then` schema's own errors too: "must match then schema" would only repeat
    // them less precisely (a List item that is a Node but not a valid one is reported by the errors of its fields).
    if (e.keyword === 'if') continue;
    const { path, detail } = describe(e);
    const key = `${path}\u0000${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (context === 'body') out.push({ pointer: path, detail });
    else out.push({ parameter: path.split('/').filter(Boolean).join('.') || context, detail });
    if (out.length === MAX_REPORTED_ERRORS) break;
  }
  return out;
}

const compiled = new WeakMap<TSchema, ReturnType<typeof bodyAjv.compile>>();

/**
 * Validates a document the service assembled from a request (a what-if's merge-patched base) as strictly as a body;
 * throws 400 with pointers under `at` (where in the request it came from).
 */
export function checkAsBody(schema: TSchema, value: unknown, at: string, what: string): void {
  let validate = compiled.get(schema);
  if (validate === undefined) compiled.set(schema, (validate = bodyAjv.compile(schema)));
  if (validate(value)) return;
  const errors = problemDetailsOfAjv(validate.errors ?? [], 'body').map((e) => ({ pointer: `${at}${e.pointer}`, detail: e.detail }));
  const first = errors[0]!;
  throw new DataError(`${what} is not valid (${errors.length === 1 ? `${first.pointer}: ${first.detail}` : `${errors.length} problems`})`, errors, 400, 'invalid-request');
}
