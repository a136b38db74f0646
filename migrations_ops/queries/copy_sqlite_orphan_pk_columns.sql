-- returns: one row (SQLite): how many columns make table ?'s primary key.
SELECT count(*) FROM pragma_table_info(?) WHERE pk > 0
