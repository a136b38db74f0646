"""Health of each target over time, thresholds and their events, and search parity checks."""
