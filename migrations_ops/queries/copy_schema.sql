-- returns: nothing; creates schema mop and the copy state tables if missing (idempotent).
-- Run by the copy while it holds the target's advisory lock exclusively.
-- copy_run.status: running, finished or abandoned (abandon_copy); note: who abandoned it and why.
CREATE SCHEMA IF NOT EXISTS mop;
CREATE TABLE IF NOT EXISTS mop.copy_run (
    copy_id text PRIMARY KEY, source text NOT NULL, plan jsonb NOT NULL, options jsonb NOT NULL,
    status text NOT NULL DEFAULT 'running', started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz, summary jsonb);
ALTER TABLE mop.copy_run ADD COLUMN IF NOT EXISTS note text;
-- truncated: target tables the copy's planning emptied (--if-not-empty truncate), table -> rows removed.
ALTER TABLE mop.copy_run ADD COLUMN IF NOT EXISTS truncated jsonb;
ALTER TABLE mop.copy_run ADD COLUMN IF NOT EXISTS skipped jsonb;
-- appended_keyless: non-empty target tables without a unique index a copy appended to (append_duplicates),
-- table -> rows they held before: those rows may now be there twice.
ALTER TABLE mop.copy_run ADD COLUMN IF NOT EXISTS appended_keyless jsonb;
CREATE TABLE IF NOT EXISTS mop.copy_checkpoint (
    copy_id text NOT NULL, table_name text NOT NULL, range_lo bigint NOT NULL, range_hi bigint NOT NULL,
    rows_read bigint NOT NULL DEFAULT 0, rows_copied bigint NOT NULL DEFAULT 0,
    rows_rejected bigint NOT NULL DEFAULT 0, bytes bigint NOT NULL DEFAULT 0,
    seconds double precision NOT NULL DEFAULT 0, finished_at timestamptz,
    PRIMARY KEY (copy_id, table_name, range_lo));
CREATE TABLE IF NOT EXISTS mop.copy_reject (
    id bigserial PRIMARY KEY, copy_id text NOT NULL, table_name text NOT NULL, range_lo bigint, key text,
    column_name text, value_hex text, reason text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS copy_reject_copy_idx ON mop.copy_reject (copy_id, table_name, id);
CREATE TABLE IF NOT EXISTS mop.copy_saved_ddl (
    copy_id text NOT NULL, kind text NOT NULL, schema_name text NOT NULL, table_name text NOT NULL,
    name text NOT NULL, definition text NOT NULL, restored_at timestamptz,
    PRIMARY KEY (copy_id, kind, schema_name, table_name, name));
