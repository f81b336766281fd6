"""Monitoring configuration files."""
