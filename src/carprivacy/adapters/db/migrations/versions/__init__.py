"""Alembic revisions: 0001 master data, 0002 telemetry, 0003 access/audit."""
