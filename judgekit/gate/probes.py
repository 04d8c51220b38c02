"""The gate's probe check: fail when a bias probe's effect (from ``judgekit probe --out``) exceeds its limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from judgekit.errors import ConfigError, InputError
from judgekit.gate.result import Check
from judgekit.io import read_json


class ProbeLimits(BaseModel):
    """``probes: {file: probe.json, max_effect: {verbosity: 0.05}}``; the file is relative to the config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path = Field(description="a `judgekit probe --out` file")
    max_effect: dict[str, float] = Field(
        min_length=1, description="probe name -> largest allowed |effect| (the rubric's scale)"
    )


C = TypeVar("C", bound=BaseModel)


def with_probe_file(config: C, base: Path) -> C:
    """``config`` (a GateConfig) with ``probes.file`` made absolute against ``base`` (the config's folder)."""
    limits: ProbeLimits | None = getattr(config, "probes", None)
    if limits is None or limits.file.is_absolute():
        return config
    return config.model_copy(update={"probes": limits.model_copy(update={"file": base / limits.file})})


def probe_checks(limits: ProbeLimits | None) -> list[Check]:
    """One check per limited probe: ``|effect| <= max_effect``; a probe with no effect (nothing scored) fails."""
    if limits is None:
        return []
    path = limits.file
    raw: Any = read_json(path, what="a probe file")
    rows = raw.get("probes") if isinstance(raw, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
        raise InputError(f"{path}: not a probe file (no 'probes' list); write one with judgekit probe --out")
    by_name = {r["name"]: r for r in rows}
    checks = []
    for name, limit in limits.max_effect.items():
        if name not in by_name:
            raise ConfigError(
                f"probes.max_effect: no probe {name!r} in {path} (has: {', '.join(by_name) or 'none'})"
            )
        row = by_name[name]
        effect = row.get("effect")
        ci = f" [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]" if row.get("ci_low") is not None else ""
        ok = isinstance(effect, int | float) and abs(effect) <= limit
        text = f"{effect:+.4f}{ci}" if isinstance(effect, int | float) else "no scored units"
        checks.append(
            Check(
                name=f"probe.{name}",
                kind="probe",
                status="pass" if ok else "fail",
                message=f"{name} effect {text} (n={row.get('n')}) {'<=' if ok else '>'} {limit:g} in size",
                value=effect if isinstance(effect, int | float) else None,
                threshold=limit,
                details={k: row.get(k) for k in ("ci_low", "ci_high", "p", "n", "unscored")},
            )
        )
    return checks
