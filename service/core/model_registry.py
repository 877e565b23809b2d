"""The served models by name: which `InferenceCore` answers a request's `model`, and the swap that
replaces one without failing the requests already running on it.

A request takes a *lease* on its model's core for its whole life (parsing, embedding, writing the
answer), so it never sees two engines. `put` swaps the name to a new core at once (new requests get the
new engine from the next lookup on) and retires the old one in the background: it waits until the last
lease is returned, then drains the core. The lookup and the lease count happen with no await between
them, so no request can pick up a core that is already being retired.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from service.core.inference_core import InferenceCore
from service.errors import InvalidRequestError, ModelNotFoundError, NotReadyError

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Slot:
    core: InferenceCore
    path: Path
    leases: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()


@dataclass(frozen=True)
class ServedModel:
    """One entry of the registry, as `/v1/models` and `GetModelInfo` list it."""

    name: str
    core: InferenceCore
    path: Path
    default: bool


class Lease:
    """Holds one model's core for the length of a request (a plain class: it is on every request).
    `name` is the served name the request resolved to."""

    __slots__ = ("_slot", "core", "name")

    def __init__(self, name: str, slot: _Slot) -> None:
        self._slot = slot
        self.name = name
        self.core = slot.core
        slot.leases += 1
        slot.idle.clear()

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._slot.leases -= 1
        if self._slot.leases == 0:
            self._slot.idle.set()


class ModelRegistry:
    def __init__(self, *, drain_timeout_s: float) -> None:
        self._slots: dict[str, _Slot] = {}
        self._default: str | None = None
        self._drain_timeout_s = drain_timeout_s
        self._retiring: set[asyncio.Task[bool]] = set()

    @property
    def names(self) -> list[str]:
        return list(self._slots)

    @property
    def default_name(self) -> str | None:
        return self._default

    @property
    def ready(self) -> bool:
        slot = self._slots.get(self._default or "")
        return slot is not None and slot.core.ready

    def path_of(self, name: str) -> Path:
        return self._slot(name).path

    def served(self) -> list[ServedModel]:
        return [ServedModel(n, s.core, s.path, n == self._default) for n, s in self._slots.items()]

    def set_default(self, name: str) -> None:
        self._slot(name)
        self._default = name

    def get(self, name: str | None = None, *, any_name_if_one: bool = False) -> InferenceCore:
        """The core serving `name` (None or "": the default), for metadata; requests take a `lease`."""
        return self._resolve(name, any_name_if_one)[1].core

    def lease(self, name: str | None = None, *, any_name_if_one: bool = False) -> Lease:
        """Pins `name`'s current core until the lease is left. `any_name_if_one`: with a single model
        served, any name selects it (OpenAI clients send their own model names)."""
        return Lease(*self._resolve(name, any_name_if_one))

    def is_overloaded(self, kind: str) -> bool:
        """True when every served model's `kind` batcher is overloaded: only then is a refusal before
        reading the request (which names the model) right for whichever model it asks for."""
        return bool(self._slots) and all(s.core.is_overloaded(kind) for s in self._slots.values())

    def put(self, name: str, core: InferenceCore, path: Path) -> None:
        """Serves `core` under `name` from now on; a core it replaces is retired in the background."""
        old = self._slots.get(name)
        self._slots[name] = _Slot(core, path)
        if self._default is None:
            self._default = name
        if old is not None:
            self._retire(name, old)

    def remove(self, name: str) -> None:
        """Stops serving `name`; requests already on it finish. The default model cannot be removed."""
        slot = self._slot(name)
        if name == self._default:
            raise InvalidRequestError(
                f"model {name!r} is the default model; make another one the default first"
            )
        del self._slots[name]
        self._retire(name, slot)

    async def wait_retired(self) -> None:
        """Until every replaced or removed core has drained (tests, shutdown)."""
        while self._retiring:
            await asyncio.gather(*list(self._retiring), return_exceptions=True)

    async def drain(self, deadline_s: float) -> bool:
        """Drains every core, served and retiring, within `deadline_s` (each after its leases are
        returned, as on a swap); True when all finished in time."""
        outcomes = await asyncio.gather(
            *(self._drain_slot(name, slot, deadline_s) for name, slot in self._slots.items()),
            *list(self._retiring),
            return_exceptions=True,
        )
        return all(outcome is True for outcome in outcomes)

    def _retire(self, name: str, slot: _Slot) -> None:
        drained = self._drain_slot(name, slot, self._drain_timeout_s)
        task = asyncio.create_task(drained, name=f"retire-{name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _drain_slot(self, name: str, slot: _Slot, budget_s: float) -> bool:
        """Waits for the slot's leases (requests and jobs on this engine), then drains its core, all
        within `budget_s`."""
        started = time.monotonic()
        leases_returned = slot.idle.is_set()
        if not leases_returned:
            try:
                await asyncio.wait_for(slot.idle.wait(), budget_s)
                leases_returned = True
            except TimeoutError:
                log.warning("model %s: %d requests still on the engine at the deadline", name, slot.leases)
        remaining = max(0.0, budget_s - (time.monotonic() - started))
        finished = await slot.core.drain(remaining) and leases_returned
        log.info("model %s: engine drained", name, extra={"all_finished": finished})
        return finished

    def _resolve(self, name: str | None, any_name_if_one: bool) -> tuple[str, _Slot]:
        if not self._slots:
            raise NotReadyError("model is still loading")
        if not name:
            name = self._default or ""
            return name, self._slot(name)
        slot = self._slots.get(name)
        if slot is not None:
            return name, slot
        if any_name_if_one and len(self._slots) == 1:
            return next(iter(self._slots.items()))
        raise self._not_found(name)

    def _slot(self, name: str) -> _Slot:
        slot = self._slots.get(name)
        if slot is None:
            raise self._not_found(name)
        return slot

    def _not_found(self, name: str) -> ModelNotFoundError:
        return ModelNotFoundError(
            f"model {name!r} is not served here; served models: {', '.join(self._slots)}"
        )
