"""CarData: a person's own clients, the device authorisation that gives them tokens, and the
customer API they read through (SPEC C2, U1-U3; notice section H)."""
