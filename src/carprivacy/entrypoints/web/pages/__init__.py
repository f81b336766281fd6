"""One router per page group; each module's ``router`` is included by ``portal.py``."""
