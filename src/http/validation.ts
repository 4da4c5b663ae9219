// Request validation with the service's schema checkers (src/topology/schema-check.ts): bodies strictly, parameters
// with coercion.
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import { bodyAjv, paramAjv } from '../topology/schema-check.js';
import { LargeJson } from './json-body.js';

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

/** A body validator that lets a LargeJson through unread: the worker that reads it validates it with the same schema. */
function bodyValidator(schema: object): Validate {
  const validate = bodyAjv.compile(schema);
  const wrapped: Validate = (data: unknown) => {
    if (data instanceof LargeJson) return true;
    const ok = validate(data);
    wrapped.errors = validate.errors as FastifySchemaValidationError[] | null | undefined;
    return ok;
  };
  return wrapped;
}

async function validationPlugin(app: FastifyInstance) {
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyValidator(schema) : paramAjv.compile(schema)));
}

export default fp(validationPlugin, { name: 'validation' });
