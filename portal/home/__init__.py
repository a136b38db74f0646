"""The DBA's home: the fleet at a glance (the admin index), and what the dashboard stores to stay fast."""
