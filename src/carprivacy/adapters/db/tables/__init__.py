"""Table definitions, one module per concept (master data, telemetry, access)."""
