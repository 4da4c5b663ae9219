// Request validation with the service's schema checkers (src/topology/schema-check.ts): bodies strictly, parameters
// with coercion.
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import type { ValidateFunction } from 'ajv';
import { bodyAjv, paramAjv } from '../topology/schema-check.js';
import { LargeJson } from './json-body.js';

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

/**
 * A body validator that lets a LargeJson through unread: the worker that reads it validates it with the same schema.
 * Compiled when first needed, or by `compile` after the service listens: compiling every body schema (a topology's is
 * large) took most of the start, before /readyz could answer.
 */
function bodyValidator(schema: object, pending: (() => unknown)[]): Validate {
  let validate: ValidateFunction | undefined;
  const compile = () => (validate ??= bodyAjv.compile(schema));
  pending.push(compile);
  const wrapped: Validate = (data: unknown) => {
    if (data instanceof LargeJson) return true;
    const v = compile();
    const ok = v(data) as boolean;
    wrapped.errors = v.errors as FastifySchemaValidationError[] | null | undefined;
    return ok;
  };
  return wrapped;
}

async function validationPlugin(app: FastifyInstance) {
  const pending: (() => unknown)[] = [];
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyValidator(schema, pending) : paramAjv.compile(schema)));
  // Once the service listens, the body validators are compiled one at a time with pauses between them, so that the first
  // write does not wait for its own and readiness checks and requests in between wait for one compilation at most.
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    pending.shift()?.();
    if (pending.length > 0) timer = setTimeout(next, 10).unref();
  };
  app.addHook('onListen', async () => {
    timer = setTimeout(next, 100).unref();
  });
  app.addHook('onClose', async () => clearTimeout(timer));
}

export default fp(validationPlugin, { name: 'validation' });
