-- Bearer tokens managed with `npm run token`. Only a token's SHA-256 is kept: the token itself is shown once, when it is
-- created, and a copy of this table does not let anyone call the service.
CREATE TABLE api_tokens (
  name        text        PRIMARY KEY,
  scope       text        NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
  sha256      text        NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
