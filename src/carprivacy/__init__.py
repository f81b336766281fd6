"""carprivacy: a connected-car data platform that enforces its privacy notice in code."""

__version__ = "0.1.0"

__all__ = ["__version__"]
