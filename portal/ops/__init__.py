"""The portal's one app: targets, projects, runs and the audit trail."""
