-- returns: the keys (rowid) of the copied table's rows whose tsvector matches the query, in order, the
-- query built from plain words by the text search configuration: plainto_tsquery for terms (AND),
-- phraseto_tsquery for a phrase, to_tsquery('word':*) for a prefix. Template: table, vector (the stored
-- tsvector column, or to_tsvector(config, document) for another configuration). Params: kind, cfg, text.
SELECT t.rowid
FROM {table} AS t
WHERE {vector} @@ (CASE %(kind)s
        WHEN 'phrase' THEN phraseto_tsquery(%(cfg)s::regconfig, %(text)s)
        WHEN 'prefix' THEN to_tsquery(%(cfg)s::regconfig, quote_literal(%(text)s) || ':*')
        ELSE plainto_tsquery(%(cfg)s::regconfig, %(text)s) END)
ORDER BY t.rowid
