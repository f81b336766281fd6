"""HTTP clients of other parties' endpoints."""
