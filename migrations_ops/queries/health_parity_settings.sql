-- returns: one row: the server's default_text_search_config, and the configuration the copied table's
-- generated tsvector column was built with (from its generation expression), if the column exists.
-- Params: schema, table, column.
SELECT
    current_setting('default_text_search_config') AS default_config,
    (SELECT pg_get_expr(d.adbin, d.adrelid)
     FROM pg_attribute AS a
     JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = (SELECT c.oid FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                         WHERE n.nspname = %(schema)s AND c.relname = %(table)s)
       AND a.attname = %(column)s AND NOT a.attisdropped) AS column_expression
