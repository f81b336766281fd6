"""The rights of the data subject as requests: received, verified, done, told (Art. 12-21)."""
