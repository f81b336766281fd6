"""CLI command modules; each exports ``register(app)``."""
