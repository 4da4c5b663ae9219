// A document that is well-formed JSON but wrong, with every offending place; the HTTP layer makes a problem document of it.
export interface InvalidParam {
  /** A JSON pointer into the body (RFC 6901), for body errors. */
  pointer?: string;
  /** The parameter's name, for query, path and header errors. */
  parameter?: string;
  detail: string;
}

/** A name as one reference token of a JSON pointer (RFC 6901): "~" and "/" escaped. */
export const pointerToken = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1');

/** A document that is well-formed but not consistent (422), or otherwise invalid with several places to point at. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly errors: InvalidParam[],
    readonly status = 422,
    readonly slug = 'invalid-topology',
  ) {
    super(message);
  }
}
