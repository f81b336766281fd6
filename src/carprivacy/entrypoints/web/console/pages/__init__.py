"""One router per console page group; each module's ``router`` is included by ``app.py``."""
