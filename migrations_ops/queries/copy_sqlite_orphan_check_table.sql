-- returns: (table, rowid, parent, fkid) of each orphan of table ? (SQLite), as PRAGMA foreign_key_check reports them.
SELECT * FROM pragma_foreign_key_check(?)
