"""Proving a change before it touches production: rehearsals, backups before runs, drift checks, recovery."""
