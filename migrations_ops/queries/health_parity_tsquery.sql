-- returns: one row: the tsquery PostgreSQL searches for (as text; empty when the configuration dropped
-- every word, e.g. stop words), built as health_parity_pg_keys builds it. Params: kind, cfg, text.
SELECT (CASE %(kind)s
        WHEN 'phrase' THEN phraseto_tsquery(%(cfg)s::regconfig, %(text)s)
        WHEN 'prefix' THEN to_tsquery(%(cfg)s::regconfig, quote_literal(%(text)s) || ':*')
        ELSE plainto_tsquery(%(cfg)s::regconfig, %(text)s) END)::text AS tsquery
