"""The shared objects of one run: the loop and clock, Firestore, the gateways, Pub/Sub (signals and commands), the
fault board."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faultsim.board import FaultBoard
from faultsim.firestore import MemoryFirestore
from faultsim.gateway import SimGateway
from faultsim.pubsub import SignalBus
from faultsim.vloop import Trace, VirtualClock, VirtualLoop

if TYPE_CHECKING:
    from faultsim.processes import RecordingPublisher


@dataclass
class Runtime:
    """What every part of a run shares."""

    loop: VirtualLoop
    clock: VirtualClock
    trace: Trace
    db: MemoryFirestore
    gateways: dict[str, SimGateway]
    bus: SignalBus
    board: FaultBoard
    publisher: RecordingPublisher
    commands: SignalBus
    sent: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
