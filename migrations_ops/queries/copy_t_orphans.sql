-- returns: rows (key text) of child rows no parent row matches (MATCH SIMPLE: a NULL column matches).
-- Template: keys (child columns joined as text), child, not_null, parent, match.
SELECT {keys} FROM {child} c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})
