-- returns: the CREATE TABLE statement SQLite kept for table ? (no row when there is none).
SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?
