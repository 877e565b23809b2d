"""Does the shutdown arithmetic fit the pod's termination grace period?

Kubernetes sends SIGTERM after the preStop hook and SIGKILLs `terminationGracePeriodSeconds` after the pod
began terminating. The process needs preStop + drain deadline + `EXIT_MARGIN_S` (cut-off requests answer
`draining`, listeners close, ffmpeg children die) inside that period, or the in-flight requests are lost to
SIGKILL. A decode longer than the drain deadline is cut off at every shutdown, which is allowed but worth a
warning. Only checked when `VIDEOPRISM_TERMINATION_GRACE_S` is set: outside Kubernetes there is no SIGKILL.
"""

from __future__ import annotations

from dataclasses import dataclass

# From the drain deadline to process exit: cut-off answers (2 s) plus closing listeners and the media.
EXIT_MARGIN_S = 5.0


@dataclass(frozen=True)
class ShutdownBudget:
    termination_grace_s: float | None
    prestop_s: float
    drain_timeout_s: float
    decode_timeout_s: float

    def problems(self) -> list[str]:
        """Reasons the process would be SIGKILLed mid-drain; empty when it fits or no grace is set."""
        if self.termination_grace_s is None:
            return []
        needed = self.prestop_s + self.drain_timeout_s + EXIT_MARGIN_S
        if needed <= self.termination_grace_s:
            return []
        return [
            f"VIDEOPRISM_PRESTOP_S ({self.prestop_s:g}) + VIDEOPRISM_DRAIN_TIMEOUT_S "
            f"({self.drain_timeout_s:g}) + {EXIT_MARGIN_S:g} s to exit = {needed:g} s exceeds "
            f"VIDEOPRISM_TERMINATION_GRACE_S ({self.termination_grace_s:g}): lower the drain timeout or "
            "raise terminationGracePeriodSeconds"
        ]

    def warnings(self) -> list[str]:
        if self.decode_timeout_s <= self.drain_timeout_s:
            return []
        return [
            f"VIDEOPRISM_DECODE_TIMEOUT_S ({self.decode_timeout_s:g}) exceeds VIDEOPRISM_DRAIN_TIMEOUT_S "
            f"({self.drain_timeout_s:g}): decodes still running at shutdown are cut off with 'draining'"
        ]
