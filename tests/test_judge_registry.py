"""The judge registry: which backend a ``--judge`` value names, a user's backend registered like the
built-ins (its lifecycle and declared concurrency honoured by a real run), and identities read back."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator

import pytest

from judgekit import ScoreSettings, score
from judgekit.errors import ConfigError
from judgekit.judges import (
    Backend,
    FunctionJudge,
    JudgeOptions,
    OpenedJudge,
    OpenRequest,
    backend_for,
    open_judge,
    register,
    spec_from_meta,
    unregister,
)
from judgekit.judges.litellm_judge import LiteLLMJudge
from judgekit.judges.panel_spec import PanelJudge
from judgekit.run.engine import EngineSettings
from judgekit.score_reader import judge_spec_from_meta
from judgekit.scoring.core import capped_settings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES
from tests.server import ScriptedServer

N_UNITS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))


@pytest.mark.parametrize(
    ("spec", "backend"),
    [
        ("local", "local"),
        (" local ", "local"),
        ("local:/models/judge.gguf", "local"),  # would also match module:attribute
        ("my_judges.module:judge", "python"),
        ("openai/gpt-4o-mini", "litellm"),
        ("anthropic/claude-3-5-sonnet@20240620", "litellm"),
        (PanelJudge(model="openai/judge", api_base="http://127.0.0.1:9/v1"), "panel-entry"),
        (FunctionJudge(lambda m, p: "{}", identity="fn"), "object"),
    ],
)
def test_each_spec_goes_to_one_backend(spec: object, backend: str) -> None:
    if isinstance(spec, str):
        spec = spec.strip()
    assert backend_for(spec).name == backend


async def _open(spec: object) -> None:
    async with open_judge(spec):
        pass


def test_unclaimed_and_empty_specs_are_one_line_errors() -> None:
    with pytest.raises(
        ConfigError, match=r"^judge must be a model string or an object with async complete\(\)"
    ):
        asyncio.run(_open(42))
    with pytest.raises(ConfigError, match=r"^--judge is empty$"):
        asyncio.run(_open("  "))


@pytest.mark.parametrize(
    ("judge", "spec"),
    [
        ({"identity": "litellm:openai/judge|structured=json_schema"}, "openai/judge"),
        (
            {"identity": "litellm:x/sonnet@20240620@http://127.0.0.1:8/v1|structured=none"},
            "x/sonnet@20240620",
        ),
        (
            {"identity": "litellm:openai/j@http://h:1/v1|structured=none", "api_base": "http://h:1/v1"},
            "openai/j",
        ),
        ({"identity": "local:gemma.gguf:123|structured=json_object"}, "local"),
        ({"identity": "python:pkg.mod:judge"}, "pkg.mod:judge"),
        ({"identity": "panel(litellm:a, litellm:b)"}, None),
        ({}, None),
    ],
)
def test_identity_maps_back_to_a_spec(judge: dict[str, str], spec: str | None) -> None:
    assert spec_from_meta(judge) == spec
    assert judge_spec_from_meta({"judge": judge}) == spec


def test_declared_concurrency_lowers_the_run_setting_only() -> None:
    assert capped_settings(EngineSettings(concurrency=8), 2).concurrency == 2
    assert capped_settings(EngineSettings(concurrency=1), 2).concurrency == 1
    assert capped_settings(EngineSettings(concurrency=8), None).concurrency == 8


def test_a_registered_backend_owns_its_lifecycle_and_concurrency(
    make_server: Callable[..., ScriptedServer],
) -> None:
    server = make_server(latency=0.05)
    events: list[str] = []

    @contextlib.contextmanager
    def open_scripted(spec: str, request: OpenRequest) -> Iterator[OpenedJudge]:
        events.append(f"start {spec}")
        judge = LiteLLMJudge(
            "openai/" + spec.split(":", 1)[1],
            api_base=server.base_url,
            api_key="sk-test",
            identity="scripted:" + spec,
        )
        try:
            yield OpenedJudge(judge, max_concurrency=1)
        finally:
            events.append("stop")

    # "scripted:judge" also has the shape of module:attribute: a registered backend is offered specs first
    register(
        Backend(
            "scripted",
            lambda s: isinstance(s, str) and s.startswith("scripted:"),
            open_scripted,
            identity_prefix="scripted:",
            spec_from_identity=lambda rest, _meta: rest,
        )
    )
    try:
        settings = ScoreSettings(
            judge=JudgeOptions(), engine=EngineSettings(concurrency=8, backoff_base=0.01), bootstrap=0
        )
        result = score(
            EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="scripted:judge", settings=settings, cache=False
        )
        assert judge_spec_from_meta(result.meta) == "scripted:judge"
    finally:
        unregister("scripted")
    assert events == ["start scripted:judge", "stop"]
    assert server.count() == N_UNITS
    assert server.peak_in_flight == 1  # the backend's declared concurrency, not the run's 8
    assert result.coverage.scored == N_UNITS
    assert backend_for("scripted:judge").name == "python"  # gone again
