"""E-mail delivery adapters."""
