"""Erasure of a data subject (SPEC R3): judge, reseal what is kept, tell, shred, purge."""
