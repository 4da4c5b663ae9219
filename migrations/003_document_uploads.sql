-- A document on its way into topology_revisions, written by the worker thread that checked it, so that the tens of
-- megabytes of a large revision never pass through the main thread (the pg client copies a parameter into its message
-- on the calling thread, holding its event loop for tens of milliseconds). The write that stores the revision moves the
-- document over and deletes the row in the same transaction; rows left by a write that failed are removed by a later
-- upload once they are an hour old. Unlogged: a document lost in a crash belonged to a request that failed with it.
CREATE UNLOGGED TABLE document_uploads (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  document    json        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
