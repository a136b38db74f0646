-- returns: nothing; a generated tsvector column on an FTS index's content table (advice shown to the DBA).
-- Template: table, tsv, regconfig, document.
ALTER TABLE {table} ADD COLUMN {tsv} tsvector GENERATED ALWAYS AS (to_tsvector({regconfig}::regconfig, {document})) STORED
