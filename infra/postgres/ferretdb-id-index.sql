-- Point lookups by _id for FerretDB 1.24 on PostgreSQL, applied to its database by infra/infra.mjs on
-- every start (idempotent).
--
-- FerretDB pushes an equality filter down as `_jsonb -> $1 @> $2`. Its own unique index on `_id` is a
-- btree over `(_jsonb -> '_id')`, which cannot serve `@>`, so every find, update and replace by _id
-- scanned the whole collection: 15 ms per lookup at 11,600 order summaries, growing with the read
-- model, and a full core of PostgreSQL at 50 orders/s. A GIN index over the same expression serves `@>`
-- (0.06 ms at that size), provided the plan sees the key: FerretDB sends it as a parameter, hence
-- `plan_cache_mode = force_custom_plan` in postgresql.conf.
--
-- An event trigger adds the index to every collection table FerretDB creates (one jsonb column named
-- _jsonb; its own metadata table excluded); the DO block below adds it to the tables already there.

CREATE OR REPLACE FUNCTION ferretdb_add_id_gin(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  rel text;
BEGIN
  SELECT c.relname INTO rel FROM pg_class c WHERE c.oid = tbl;
  IF rel LIKE '\_ferretdb\_%' OR NOT EXISTS (
    SELECT 1 FROM pg_attribute a
    WHERE a.attrelid = tbl AND a.attname = '_jsonb' AND a.atttypid = 'jsonb'::regtype AND NOT a.attisdropped
  ) THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s USING gin ((_jsonb -> %L))', left(rel, 52) || '_id_gin', tbl, '_id');
END
$$;

CREATE OR REPLACE FUNCTION ferretdb_id_gin_on_create() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  created record;
BEGIN
  FOR created IN
    SELECT objid FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_type = 'table'
  LOOP
    PERFORM ferretdb_add_id_gin(created.objid::regclass);
  END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS ferretdb_id_gin;
CREATE EVENT TRIGGER ferretdb_id_gin ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
  EXECUTE FUNCTION ferretdb_id_gin_on_create();

DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
  LOOP
    PERFORM ferretdb_add_id_gin(t.oid::regclass);
  END LOOP;
END
$$;
