-- returns: one row when some value of the child's single-column foreign key has no parent row, none when every
-- value has one (SQLite). Template: child, child_column, parent, parent_column. The rule of
-- copy_t_sqlite_fk_orphans (orphans.py checks it first), asked once per distinct value instead of once per row:
-- DISTINCT merges only values that compare equal by that same rule (one affinity, BINARY), and it reads the
-- child's index on the key when there is one.
SELECT 1 FROM (SELECT DISTINCT {child_column} AS k FROM {child} WHERE {child_column} IS NOT NULL) AS d
WHERE NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.{parent_column} = d.k)
LIMIT 1
