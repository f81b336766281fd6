"""The privacy officer's console, mounted at ``/console`` (SPEC R7, L1, L2, C4, U3, P7)."""
