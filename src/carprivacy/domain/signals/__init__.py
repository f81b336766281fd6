"""Vehicle signals (SPEC I1, P2), one concept a module:

- ``catalogue``: the VSS signals carprivacy accepts and the data category of each;
- ``validation``: parsing and validation of wire records and their values;
- ``encoding``: the compiled per-signal check that gives a value's stored text.

The names below are re-exported so that ``from carprivacy.domain.signals import SignalCatalogue``
keeps working; new code imports from the module of the concept.
"""

from carprivacy.domain.signals.catalogue import (
    PRIVATE_BRANCH,
    Signal,
    SignalCatalogue,
    SignalType,
    catalogue_from_mapping,
)
from carprivacy.domain.signals.encoding import ValueEncoder, value_encoder
from carprivacy.domain.signals.validation import (
    NOT_A_VIN,
    RECORD_FIELDS,
    ValidRecord,
    check_value,
    parse_timestamp,
    timestamp_until,
    validate_record,
)

__all__ = [
    "NOT_A_VIN",
    "PRIVATE_BRANCH",
    "RECORD_FIELDS",
    "Signal",
    "SignalCatalogue",
    "SignalType",
    "ValidRecord",
    "ValueEncoder",
    "catalogue_from_mapping",
    "check_value",
    "parse_timestamp",
    "timestamp_until",
    "validate_record",
    "value_encoder",
]
