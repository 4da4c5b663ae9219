// Topologies and their immutable revisions. Every write is one transaction: a failed or interrupted request leaves neither
// a topology without a revision nor a half-written revision.
import type { Db, Queryable } from './db.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from './errors.js';
import { Heads, type Head } from './heads.js';

export type Form = 'cluster' | 'fabric';

export interface Summary {
  nodes: number;
  pods: number;
  netns: number;
}

export interface TopologyInput {
  name: string;
  description: string | undefined;
  form: Form;
  /** The form's document, already serialised (as text or its UTF-8 bytes) or uploaded (stageDocument): stored as it is. */
  documentJson: string | Uint8Array | StagedDocument;
  summary: Summary;
}

/** A document a worker wrote to document_uploads (stageDocument), to be moved into its revision by the write. */
export interface StagedDocument {
  staged: string;
}

const isStaged = (d: TopologyInput['documentJson']): d is StagedDocument => typeof d === 'object' && 'staged' in d;

/** How long an upload may wait for the write that stores it before a later upload removes it. */
const UPLOAD_KEPT = '1 hour';

/**
 * Writes a document to document_uploads from the thread that holds it (a worker), and removes uploads that no write
 * took. The write that stores the revision then never handles the bytes (migrations/003_document_uploads.sql).
 */
export async function stageDocument(db: Queryable, documentJson: Uint8Array): Promise<StagedDocument> {
  await db.query(`DELETE FROM document_uploads WHERE created_at < now() - interval '${UPLOAD_KEPT}'`);
  const r = await db.query<{ id: string }>('INSERT INTO document_uploads (document) VALUES ($1::json) RETURNING id', [documentJson]);
  return { staged: r.rows[0]!.id };
}

export interface TopologyMeta {
  /** Identifies this incarnation of the name (a deleted and re-created topology gets a new id). */
  id: string;
  name: string;
  revision: number;
  description: string | null;
  form: Form;
  summary: Summary;
  createdAt: string;
  updatedAt: string;
}

export interface StoredTopology extends TopologyMeta {
  /** The form's document as JSON text, exactly as stored. */
  documentJson: string;
}

export interface RevisionMeta {
  revision: number;
  description: string | null;
  form: Form;
  summary: Summary;
  createdAt: string;
}

/** `undefined`: no precondition; '*': the topology must exist; a list: its current revision must be one of them. */
export type IfMatch = undefined | '*' | number[];

export interface Page<T> {
  items: T[];
  /** Pass back as `after` for the next page; null on the last page. */
  next: string | null;
}

interface MetaRow {
  id: string;
  name: string;
  revision: string;
  description: string | null;
  form: Form;
  summary: Summary;
  created_at: Date | string;
  updated_at: Date | string;
}

const iso = (t: Date | string) => (t instanceof Date ? t : new Date(t)).toISOString();

const toMeta = (r: MetaRow): TopologyMeta => ({
  id: r.id,
  name: r.name,
  revision: Number(r.revision),
  description: r.description,
  form: r.form,
  summary: r.summary,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const META_COLUMNS = `t.id, t.name, r.revision, r.description, r.form, r.summary, t.created_at, r.created_at AS updated_at`;

const stale = (name: string, revision: number, expected: number[]) =>
  new PreconditionFailedError(
    `${name} is at revision ${revision}, not ${expected.join(' or ') || 'the one given'}: it changed since you read it`,
    revision,
  );

export class TopologyStore {
  private readonly heads: Heads;

  constructor(
    private readonly db: Db,
    readonly revisionsKept: number,
  ) {
    this.heads = new Heads(db);
  }

  /** Creates revision 1; ConflictError when the name is taken. */
  async create(input: TopologyInput): Promise<TopologyMeta> {
    const meta = await this.discardingOnFailure(input, () => this.db.transaction(async (tx) => {
      const inserted = await tx.query<{ id: string }>(
        'INSERT INTO topologies (name, revision) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING RETURNING id',
        [input.name],
      );
      const id = inserted.rows[0]?.id;
      if (id === undefined) throw new ConflictError(`a topology named ${input.name} already exists`);
      return this.addRevision(tx, id, 1, input);
    }));
    this.heads.wrote(meta.name, { id: meta.id, revision: meta.revision });
    return meta;
  }

  /**
   * Creates the topology or replaces it with a new revision. With ifMatch, the current revision must be the given one
   * (or, for '*', exist); with ifNoneMatch the topology must not exist yet.
   */
  async put(input: TopologyInput, ifMatch: IfMatch, ifNoneMatch: boolean): Promise<{ meta: TopologyMeta; created: boolean }> {
    // A create that loses the race with a concurrent one finds the name taken: with If-None-Match: * that is the failed
    // precondition; without, the write is retried once and replaces what the other one created.
    let result: { meta: TopologyMeta; created: boolean } | undefined;
    for (let attempt = 1; result === undefined; attempt++) {
      result = await this.discardingOnFailure(input, () => this.putOnce(input, ifMatch, ifNoneMatch, attempt === 2));
    }
    this.heads.wrote(result.meta.name, { id: result.meta.id, revision: result.meta.revision });
    return result;
  }

  private putOnce(input: TopologyInput, ifMatch: IfMatch, ifNoneMatch: boolean, last: boolean) {
    return this.db.transaction(async (tx): Promise<{ meta: TopologyMeta; created: boolean } | undefined> => {
      const current = await tx.query<{ id: string; revision: string }>(
        'SELECT id, revision FROM topologies WHERE name = $1 FOR UPDATE',
        [input.name],
      );
      const row = current.rows[0];
      if (row === undefined) {
        if (ifMatch !== undefined) {
          throw new PreconditionFailedError(`If-Match was given but there is no topology named ${input.name}`, undefined);
        }
        const inserted = await tx.query<{ id: string }>(
          'INSERT INTO topologies (name, revision) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING RETURNING id',
          [input.name],
        );
        const id = inserted.rows[0]?.id;
        if (id === undefined) {
          if (ifNoneMatch) throw new PreconditionFailedError(`If-None-Match: * was given but ${input.name} was created concurrently`, undefined);
          if (last) throw new ConflictError(`a topology named ${input.name} was created and deleted concurrently; retry`);
          return undefined;
        }
        return { meta: await this.addRevision(tx, id, 1, input), created: true };
      }
      const revision = Number(row.revision);
      if (ifNoneMatch) {
        throw new PreconditionFailedError(`If-None-Match: * was given but ${input.name} exists (revision ${revision})`, revision);
      }
      if (Array.isArray(ifMatch) && !ifMatch.includes(revision)) throw stale(input.name, revision, ifMatch);
      const next = revision + 1;
      await tx.query('UPDATE topologies SET revision = $2 WHERE id = $1', [row.id, next]);
      const meta = await this.addRevision(tx, row.id, next, input);
      await tx.query('DELETE FROM topology_revisions WHERE topology_id = $1 AND revision <= $2', [
        row.id,
        next - this.revisionsKept,
      ]);
      return { meta, created: false };
    });
  }

  /**
   * Lets go of an input's uploaded document when no revision will take it (a write refused or failed, a request
   * refused after its body was checked); without an upload, nothing to do.
   */
  async discard(document: TopologyInput['documentJson']): Promise<void> {
    if (isStaged(document)) await this.db.query('DELETE FROM document_uploads WHERE id = $1', [document.staged]);
  }

  private async discardingOnFailure<T>(input: TopologyInput, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      // The write's own error is the answer; an upload this fails to remove goes with the next upload after an hour.
      await this.discard(input.documentJson).catch(() => undefined);
      throw err;
    }
  }

  /** The newest revision, or the given one while it is still kept. */
  async get(name: string, revision?: number): Promise<StoredTopology> {
    const row = await this.read<{ document: string }>(name, revision, ', r.document::text AS document');
    return { ...toMeta(row), documentJson: row.document };
  }

  /** What get gives but the document: a worker reads that (readDocument), so that tens of MB never reach this thread. */
  async meta(name: string, revision?: number): Promise<TopologyMeta> {
    return toMeta(await this.read(name, revision, ''));
  }

  private async read<Extra>(name: string, revision: number | undefined, extraColumns: string): Promise<MetaRow & Extra> {
    const r = await this.db.query<MetaRow & Extra>(
      `SELECT ${META_COLUMNS}${extraColumns}
         FROM topologies t JOIN topology_revisions r ON r.topology_id = t.id
        WHERE t.name = $1 AND r.revision = ${revision === undefined ? 't.revision' : '$2'}`,
      revision === undefined ? [name] : [name, revision],
    );
    const row = r.rows[0];
    if (row === undefined) throw await this.notFound(name, revision);
    return row;
  }

  /** The id and newest revision of a topology: the one small read that tells whether a cached compilation is current. */
  async head(name: string): Promise<Head> {
    const head = await this.heads.get(name);
    if (head === undefined) throw new NotFoundError(`there is no topology named ${name}`);
    return head;
  }

  async list(limit: number, after: string | undefined): Promise<Page<TopologyMeta>> {
    const r = await this.db.query<MetaRow>(
      `SELECT ${META_COLUMNS}
         FROM topologies t JOIN topology_revisions r ON r.topology_id = t.id AND r.revision = t.revision
        WHERE $1::text IS NULL OR t.name > $1
        ORDER BY t.name
        LIMIT $2`,
      [after ?? null, limit + 1],
    );
    const items = r.rows.slice(0, limit).map(toMeta);
    return { items, next: r.rows.length > limit ? items[items.length - 1]!.name : null };
  }

  /** Revisions, newest first; `before` continues from a previous page. */
  async revisions(name: string, limit: number, before: number | undefined): Promise<Page<RevisionMeta>> {
    const { id } = await this.head(name);
    const r = await this.db.query<Omit<MetaRow, 'id' | 'name' | 'updated_at'>>(
      `SELECT revision, description, form, summary, created_at FROM topology_revisions
        WHERE topology_id = $1 AND ($2::int8 IS NULL OR revision < $2)
        ORDER BY revision DESC
        LIMIT $3`,
      [id, before ?? null, limit + 1],
    );
    const items = r.rows.slice(0, limit).map((row) => ({
      revision: Number(row.revision),
      description: row.description,
      form: row.form,
      summary: row.summary,
      createdAt: iso(row.created_at),
    }));
    return { items, next: r.rows.length > limit ? String(items[items.length - 1]!.revision) : null };
  }

  async remove(name: string, ifMatch: IfMatch): Promise<void> {
    await this.db.transaction(async (tx) => {
      const current = await tx.query<{ id: string; revision: string }>(
        'SELECT id, revision FROM topologies WHERE name = $1 FOR UPDATE',
        [name],
      );
      const row = current.rows[0];
      if (row === undefined) throw new NotFoundError(`there is no topology named ${name}`);
      const revision = Number(row.revision);
      if (Array.isArray(ifMatch) && !ifMatch.includes(revision)) throw stale(name, revision, ifMatch);
      await tx.query('DELETE FROM topologies WHERE id = $1', [row.id]);
    });
    this.heads.wrote(name, undefined);
  }

  private async addRevision(tx: Queryable, id: string, revision: number, input: TopologyInput): Promise<TopologyMeta> {
    const row = [id, revision, input.form, input.description ?? null, JSON.stringify(input.summary)];
    const document = input.documentJson;
    if (isStaged(document)) {
      const moved = await tx.query(
        `INSERT INTO topology_revisions (topology_id, revision, form, description, summary, document)
         SELECT $1, $2, $3, $4, $5::json, document FROM document_uploads WHERE id = $6`,
        [...row, document.staged],
      );
      // Only an upload older than UPLOAD_KEPT is removed by others; a write never waits that long for its own.
      if (moved.rowCount !== 1) throw new Error(`the uploaded document ${document.staged} is gone`);
      await tx.query('DELETE FROM document_uploads WHERE id = $1', [document.staged]);
    } else {
      await tx.query(
        `INSERT INTO topology_revisions (topology_id, revision, form, description, summary, document)
         VALUES ($1, $2, $3, $4, $5::json, $6::json)`,
        [...row, document],
      );
    }
    const r = await tx.query<MetaRow>(
      `SELECT ${META_COLUMNS} FROM topologies t JOIN topology_revisions r ON r.topology_id = t.id
        WHERE t.id = $1 AND r.revision = $2`,
      [id, revision],
    );
    return toMeta(r.rows[0]!);
  }

  private async notFound(name: string, revision: number | undefined): Promise<NotFoundError> {
    if (revision === undefined) return new NotFoundError(`there is no topology named ${name}`);
    const { revision: newest } = await this.head(name);
    return revisionNotFound(name, revision, newest, this.revisionsKept);
  }
}

function revisionNotFound(name: string, revision: number, newest: number, kept: number): NotFoundError {
  return new NotFoundError(
    revision > newest
      ? `${name} has no revision ${revision}; its newest is ${newest}`
      : `revision ${revision} of ${name} is no longer kept (the newest ${kept} revisions are)`,
  );
}

/**
 * The document of one revision of one incarnation of a topology (its id), as a worker reads it for itself; undefined
 * when that incarnation was deleted (the name may have been created again since). NotFoundError when the revision is
 * not kept or not written yet.
 */
export async function readDocument(
  db: Queryable,
  key: { id: string; name: string; revision: number },
  revisionsKept: number,
): Promise<{ form: Form; documentJson: string } | undefined> {
  const r = await db.query<{ newest: string; form: Form | null; document: string | null }>(
    `SELECT t.revision AS newest, r.form, r.document::text AS document
       FROM topologies t LEFT JOIN topology_revisions r ON r.topology_id = t.id AND r.revision = $2
      WHERE t.id = $1`,
    [key.id, key.revision],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  if (row.document === null) throw revisionNotFound(key.name, key.revision, Number(row.newest), revisionsKept);
  return { form: row.form!, documentJson: row.document };
}
