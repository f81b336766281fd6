"""In-memory fakes of every port, and :func:`bootstrap_in_memory`: the composition root on them."""

from carprivacy.testing.bootstrap import InMemoryStores, bootstrap_in_memory

__all__ = ["InMemoryStores", "bootstrap_in_memory"]
