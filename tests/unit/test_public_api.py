"""The package's public surface is small and deliberate (httpx-style __all__ guard): the error
tree from ``carprivacy``, the in-memory fakes of every port from ``carprivacy.testing``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import typing
from types import ModuleType

import pytest

import carprivacy
import carprivacy.services
import carprivacy.testing
from carprivacy.domain import errors

ERRORS = [
    "AccessDeniedError",
    "AuditChainConflictError",
    "AuthenticationError",
    "BackupError",
    "CarPrivacyError",
    "CiphertextError",
    "ConflictError",
    "CryptoError",
    "IngestBusyError",
    "InvalidInputError",
    "KeyDestroyedError",
    "MailDeliveryError",
    "MalformedPayloadError",
    "MasterKeyRetiredError",
    "MasterKeyRotationError",
    "NotFoundError",
    "OAuthGrantError",
    "PasswordHashingError",
    "PayloadTooLargeError",
    "PolicyError",
    "Problem",
    "RateLimitedError",
    "RetentionRunInProgressError",
    "RotationError",
    "StoreUnavailableError",
    "StreamBrokerError",
    "UnknownMasterKeyError",
    "UnsupportedMediaTypeError",
]
FAKES = [
    "FakeCheckpointSigner",
    "FakeClock",
    "FakeDecider",
    "FakeErasureExecutor",
    "FakeMasterKeyRotation",
    "FakePasswordHasher",
    "FakeTokenSigner",
    "FakeTransmitter",
    "InMemoryAccountRepository",
    "InMemoryAlertRepository",
    "InMemoryAuditLogRepository",
    "InMemoryAuditTrail",
    "InMemoryAuditWitness",
    "InMemoryAutomatedDecisionRepository",
    "InMemoryBatchFieldCipher",
    "InMemoryCallerRepository",
    "InMemoryCarDataRepository",
    "InMemoryConsentStatistics",
    "InMemoryShareRepository",
    "InMemoryContractRepository",
    "InMemoryCustomerRepository",
    "InMemoryDataKeyRepository",
    "InMemoryDatabase",
    "InMemoryDecisionFacts",
    "InMemoryEmailOutbox",
    "InMemoryErasureStore",
    "InMemoryShredList",
    "InMemoryEntityRepository",
    "InMemoryExportStore",
    "InMemoryFieldCipher",
    "InMemoryFleetRepository",
    "InMemoryIngestService",
    "InMemoryMasterDataUnitOfWork",
    "InMemoryMasterDataVehicleDirectory",
    "InMemoryMasterFacts",
    "InMemoryMonitoringWindows",
    "InMemoryPaymentRepository",
    "InMemoryLegalHoldRepository",
    "InMemoryRectificationLog",
    "InMemoryRequestsOverview",
    "InMemoryRetentionStore",
    "InMemoryRightsRequestRepository",
    "InMemoryStores",
    "InMemoryStreamBroker",
    "InMemoryStreamConnectionLimit",
    "InMemoryStreamCredentialRepository",
    "InMemoryStreamOutlet",
    "InMemoryNoticeAddress",
    "InMemorySubjectStateRepository",
    "InMemoryTelemetryRepository",
    "InMemoryTelemetryStore",
    "InMemoryUsageRepository",
    "InMemoryVehicleCredentialRepository",
    "InMemoryVehicleDirectory",
    "InMemoryVehicleRepository",
    "InMemoryWindowSession",
    "StoreDownError",
    "bootstrap_in_memory",
]


def test_public_api_is_curated() -> None:
    assert carprivacy.__all__ == [*ERRORS, "__version__"]
    assert carprivacy.__version__.count(".") == 2


def test_the_testing_api_is_curated() -> None:
    assert carprivacy.testing.__all__ == FAKES


@pytest.mark.parametrize(
    ("module", "name"),
    [(carprivacy, n) for n in carprivacy.__all__]
    + [(carprivacy.testing, n) for n in carprivacy.testing.__all__],
)
def test_every_public_name_imports(module: ModuleType, name: str) -> None:
    assert getattr(module, name) is not None


def test_every_error_of_the_tree_is_exported() -> None:
    defined = {
        name
        for name, obj in vars(errors).items()
        if inspect.isclass(obj) and issubclass(obj, errors.CarPrivacyError)
    }
    assert defined <= set(carprivacy.__all__)
    exported = {getattr(carprivacy, n) for n in carprivacy.__all__} | {
        getattr(carprivacy.testing, n) for n in carprivacy.testing.__all__
    }

    def subclasses(cls: type) -> set[type]:
        return {c for s in cls.__subclasses__() for c in {s, *subclasses(s)}}

    importlib.import_module("carprivacy.entrypoints.api.app")  # loads the modules defining them
    importlib.import_module("carprivacy.entrypoints.cli.main")

    missing = {
        f"{c.__module__}.{c.__qualname__}"
        for c in subclasses(errors.CarPrivacyError)
        if c.__module__.startswith("carprivacy")
        and c not in exported
        and not c.__name__.startswith("_")  # a module's private signal never leaves it
    }
    assert not missing


def test_importing_carprivacy_loads_no_framework() -> None:
    code = (
        "import sys, carprivacy, carprivacy.testing; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'sqlalchemy', 'paho', 'typer') "
        "if m in sys.modules))"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# -- every port has an in-memory implementation in carprivacy.testing --------------------------
def ports_modules() -> list[ModuleType]:
    found = []
    for info in pkgutil.walk_packages(carprivacy.services.__path__, "carprivacy.services."):
        if info.name.endswith(".ports") or ".ports." in info.name:
            module = importlib.import_module(info.name)
            if not info.ispkg:
                found.append(module)
    return found


def protocols() -> list[type]:
    return sorted(
        (
            obj
            for module in ports_modules()
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and getattr(obj, "_is_protocol", False)
            and obj.__module__ == module.__name__
        ),
        key=lambda p: f"{p.__module__}.{p.__qualname__}",
    )


def members(protocol: type) -> set[str]:
    names: set[str] = set()
    for base in protocol.__mro__:
        if base in (object, typing.Protocol, typing.Generic) or not getattr(
            base, "_is_protocol", False
        ):
            continue
        names |= {n for n in vars(base) if not n.startswith("_")} | set(
            getattr(base, "__annotations__", {})
        )
    if "__call__" in vars(protocol):
        names.add("__call__")
    return names


def _positional(fn: object) -> tuple[int, bool]:
    """How many positional parameters (without self) and whether it takes *args."""
    params = list(inspect.signature(fn).parameters.values())[1:]  # type: ignore[arg-type]
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in params), any(p.kind is p.VAR_POSITIONAL for p in params)


def _keyword_only(fn: object) -> set[str]:
    return {
        n
        for n, p in inspect.signature(fn).parameters.items()  # type: ignore[arg-type]
        if p.kind is p.KEYWORD_ONLY
    }


def _sets_in_init(cls: type, name: str) -> bool:
    init = inspect.getattr_static(cls, "__init__", None)
    if not inspect.isfunction(init):
        return False
    try:
        return f"self.{name} =" in inspect.getsource(init)
    except OSError:  # a generated __init__ (dataclass): its fields are checked apart
        return False


def implements(cls: type, protocol: type) -> bool:
    """Structural: every member of the protocol is there (a method, a property or an attribute
    set in ``__init__``), and a method takes the protocol's arguments (as many positional ones,
    the same keyword-only names)."""
    for name in members(protocol):
        wanted = inspect.getattr_static(protocol, name, None)
        given = inspect.getattr_static(cls, name, None)
        if inspect.isfunction(wanted):
            if not inspect.isfunction(given):
                return False
            (want_n, _), (have_n, star) = _positional(wanted), _positional(given)
            same = want_n == have_n or (star and have_n <= want_n)
            if not same and (have_n < want_n or not _defaults_cover(given, want_n)):
                return False
            if not _keyword_only(wanted) <= _keyword_only(given) | set(
                inspect.signature(given).parameters
            ):
                return False
        elif (
            given is None
            and name not in getattr(cls, "__dataclass_fields__", {})
            and not _sets_in_init(cls, name)
        ):
            return False
    return True


def _defaults_cover(fn: object, wanted: int) -> bool:
    """Extra positional parameters beyond ``wanted`` all have defaults."""
    params = list(inspect.signature(fn).parameters.values())[1:]  # type: ignore[arg-type]
    return all(p.default is not p.empty for p in params[wanted:] if p.kind is not p.KEYWORD_ONLY)


def test_the_ports_are_found() -> None:
    names = {p.__name__ for p in protocols()}
    assert {"FieldCipher", "Clock", "PasswordHasher", "TokenSigner", "CheckpointSigner"} <= names
    assert {"CallerRepository", "AuditLogRepository", "TelemetryRepository"} <= names


@pytest.mark.parametrize("protocol", protocols(), ids=lambda p: p.__name__)
def test_every_port_has_an_in_memory_implementation(protocol: type) -> None:
    fakes = [getattr(carprivacy.testing, n) for n in carprivacy.testing.__all__]
    candidates = [f for f in fakes if inspect.isclass(f) and not issubclass(f, BaseException)]
    matching = [f.__name__ for f in candidates if implements(f, protocol)]
    assert matching, f"no fake in carprivacy.testing implements {protocol.__qualname__}"
    assert all(n.startswith(("InMemory", "Fake")) for n in matching)


def test_the_structural_check_can_fail() -> None:
    class Port(typing.Protocol):
        def read(self, key: str) -> str: ...

    class Right:
        def read(self, key: str) -> str:
            return key

    class WrongParameter:
        def read(self) -> str:
            return ""

    class AnAttribute:
        read = "not a method"

    class Missing:
        pass

    assert implements(Right, Port)
    assert not implements(WrongParameter, Port)
    assert not implements(Missing, Port)
    assert not implements(AnAttribute, Port)
