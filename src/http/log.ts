// What the logs may hold about an error: its kind, a bounded message, its code and stack. Never the SQL parameters or
// the failing row a PostgreSQL error carries in `detail`/`where`/`parameters`, nor a message that quotes a whole
// document: logs are shipped and kept where topologies are not meant to go.
const MAX_MESSAGE = 500;

export function errorForLog(err: unknown): { type: string; message: string; stack: string; [key: string]: unknown } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err).slice(0, MAX_MESSAGE), stack: '' };
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}… (${e.message.length} characters)` : e.message;
  const stack = e.stack?.split('\n').slice(1).join('\n') ?? '';
  return { type: e.constructor.name, message, code: e.code, statusCode: e.statusCode, stack };
}

export const logSerializers = { err: errorForLog };
