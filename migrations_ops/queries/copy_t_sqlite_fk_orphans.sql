-- returns: the rowids of the child rows whose single-column foreign key has no parent row (SQLite), by rowid.
-- Template: child, child_column, parent, parent_column. The same rows PRAGMA foreign_key_check reports for that
-- key when both columns have one affinity and BINARY collation and the parent column has a unique index
-- (orphans.py checks that first). It runs only for a key whose distinct values already found an orphan.
SELECT c.rowid FROM {child} AS c
WHERE c.{child_column} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{parent_column} = c.{child_column})
ORDER BY c.rowid
