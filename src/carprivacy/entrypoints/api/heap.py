"""What a serving process does with its heap once it is built (SPEC U1).

A process's start-up leaves hundreds of thousands of long-lived objects (modules, the compiled
policy, templates, the OpenAPI document). Left in the collector's oldest generation, each full
collection during a request walks all of them again: on a read of 10,000 values this was the
spread between a 42 ms and a 49-74 ms read (bench/telemetry_read.py). Frozen once built, they
are never walked again; what requests make is collected as before.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left behind, then move every surviving object to the permanent
    generation (``gc.freeze``): later collections walk only what came after."""
    gc.collect()
    gc.freeze()
