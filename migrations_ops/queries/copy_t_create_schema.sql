-- returns: nothing; the target schema for tables created from the SQLite schema. Template: schema.
CREATE SCHEMA IF NOT EXISTS {schema}
