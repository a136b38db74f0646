-- returns: nothing; the regular table a contentful FTS table's rows are copied into: its rowid, its columns
-- as text, and a generated tsvector over them (seed 004). Template: table, columns, tsv, regconfig, document.
CREATE TABLE {table} (rowid bigint PRIMARY KEY, {columns},
    {tsv} tsvector GENERATED ALWAYS AS (to_tsvector({regconfig}::regconfig, {document})) STORED)
