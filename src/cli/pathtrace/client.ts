// The service as the CLI sees it: one HTTP request at a time, with the bearer token, and an error that carries the
// service's problem document. node:http rather than fetch, so that an upload can report its progress (a cluster's
// objects are tens of MB) and keep its Content-Length.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProblemDoc {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { pointer?: string; parameter?: string; detail: string }[];
  candidates?: string[];
  currentRevision?: number;
}

/** An answer of the service that is not a success: its status and, when the service sent one, its problem document. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemDoc | undefined,
    body: string,
  ) {
    super(problem?.detail ?? (body.trim() || `HTTP ${status}`));
  }
}

/** The service could not be reached at all (refused, unknown host, reset). */
export class ConnectionError extends Error {}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: Buffer;
  contentType?: string;
  accept?: string;
  /** Called as the body is written, with the bytes sent so far. */
  onUpload?: (sent: number, total: number) => void;
}

/** Large bodies go out in slices, so that progress can be told and memory is not copied again. */
const SLICE = 1 << 20;

export class Client {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  url(path: string, query: RequestOptions['query'] = {}): URL {
    const url = new URL(`v1${path}`, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends a request; a status of 400 or more throws ApiError, an unreachable service ConnectionError. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Answer> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(options.body.length);
    }
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(new ConnectionError(`cannot reach the service at ${this.baseUrl}: ${err.code ?? err.message}`)),
      );
      const body = options.body;
      if (body === undefined) return void req.end();
      // Slice by slice, waiting for the socket to drain, so that the bytes counted are the bytes sent.
      let sent = 0;
      const next = () => {
        while (sent < body.length) {
          const end = Math.min(sent + SLICE, body.length);
          const more = req.write(body.subarray(sent, end));
          sent = end;
          options.onUpload?.(sent, body.length);
          if (!more) return void req.once('drain', next);
        }
        req.end();
      };
      next();
    });
    if (answer.status >= 400) throw new ApiError(answer.status, problemOf(answer), answer.body);
    return answer;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return JSON.parse((await this.send(method, path, options)).body) as T;
  }
}

function problemOf(answer: Answer): ProblemDoc | undefined {
  const type = answer.headers['content-type'] ?? '';
  if (!/^application\/(problem\+)?json/.test(type)) return undefined;
  try {
    const doc = JSON.parse(answer.body) as unknown;
    return typeof doc === 'object' && doc !== null ? (doc as ProblemDoc) : undefined;
  } catch {
    return undefined;
  }
}
