"""Retention (SPEC L1, L2): runs that delete or anonymise what has expired, and legal holds."""
