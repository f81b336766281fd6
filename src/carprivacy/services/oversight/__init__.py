"""What the privacy officer's console reads (SPEC R7, C4, L2, U3): request deadlines and consent
statistics, through ports of their own; counts and pseudonymous references only."""
