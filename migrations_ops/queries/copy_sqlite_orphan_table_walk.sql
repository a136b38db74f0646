-- returns: the main schema's tables and views (SQLite) in the order PRAGMA foreign_key_check walks them (the schema's table hash).
SELECT name FROM pragma_table_list WHERE schema = 'main'
