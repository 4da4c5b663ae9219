// What the store reports about the state it found; the HTTP layer turns these into problem documents.
export class NotFoundError extends Error {}
export class ConflictError extends Error {}
export class PreconditionFailedError extends Error {
  constructor(
    message: string,
    readonly currentRevision: number | undefined,
  ) {
    super(message);
  }
}
