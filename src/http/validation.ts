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
 * Compiled when first needed, or one after another once the service listens: compiling every body schema (a topology's
 * is large) before listening took most of the start.
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
  // The listening service (server.ts) compiles the body validators one at a time with pauses between them, so that
  // health checks and requests in between wait for one compilation at most; it says it is ready when they are done,
  // because a compilation (a topology's schema: about 100 ms) is a stall that a request sent to a ready service must
  // not meet.
  let timer: NodeJS.Timeout | undefined;
  app.decorate('warming', false);
  app.decorate('warmValidators', () => {
    app.warming = true;
    const next = () => {
      pending.shift()?.();
      if (pending.length > 0) timer = setTimeout(next, 10).unref();
      else app.warming = false;
    };
    timer = setTimeout(next, 10).unref();
  });
  app.addHook('onClose', async () => clearTimeout(timer));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether the body validators are still being compiled (readiness waits for them). */
    warming: boolean;
    warmValidators(): void;
  }
}

export default fp(validationPlugin, { name: 'validation' });
