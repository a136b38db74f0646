-- returns: nothing; a foreign key of a table created from the SQLite declaration (on the empty table, so
-- valid at once; plan_ranges then saves and drops it for the load). Template: table, columns, parent,
-- parent_columns, on_delete, on_update.
ALTER TABLE {table} ADD FOREIGN KEY ({columns}) REFERENCES {parent} ({parent_columns})
  ON DELETE {on_delete} ON UPDATE {on_update}
