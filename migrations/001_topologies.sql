-- A topology is a name with a sequence of immutable revisions. `id` identifies one incarnation of a name: a topology that
-- is deleted and created again starts at revision 1 under a new id, so nothing cached for the old one can be mistaken
-- for the new one.
CREATE TABLE topologies (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text        NOT NULL UNIQUE,
  revision    bigint      NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- `document` is `json`, not `jsonb`: it keeps the user's text (key order, spacing aside) and costs no conversion on the
-- way in or out, which matters for documents of tens of megabytes. Nothing queries inside it.
-- The newest revision's created_at is the topology's updatedAt.
CREATE TABLE topology_revisions (
  topology_id bigint      NOT NULL REFERENCES topologies (id) ON DELETE CASCADE,
  revision    bigint      NOT NULL,
  form        text        NOT NULL CHECK (form IN ('cluster', 'fabric')),
  description text,
  summary     json        NOT NULL,
  document    json        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topology_id, revision)
);
