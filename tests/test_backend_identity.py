"""What a backend says of a judge without opening it (issue 19): ``Backend.identity(spec, options)`` is the
identity the opened judge reports after a real run, so the dry run, which starts nothing, counts every
judgment of that run as cached; ``Backend.secrets(spec)`` finds the keys ``run_secrets`` keeps out of files.

Every run is real: litellm (or the lean client, or a worker pool) over HTTP to the scripted server on
127.0.0.1, llama.cpp's server on the real local model, a real SQLite cache read back from disk. Expected
identities are written out by hand from the documented formats."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from judgekit import ScoreSettings, estimate, score
from judgekit.errors import ConfigError
from judgekit.judges import (
    Backend,
    Completion,
    JudgeOptions,
    JudgeParams,
    OpenedJudge,
    OpenRequest,
    backend_for,
    judge_identity,
    judge_secrets,
    register,
    resolve_judge,
    unregister,
)
from judgekit.judges.litellm_judge import LiteLLMJudge
from judgekit.judges.panel_spec import PanelJudge
from judgekit.judges.router import router_judges
from judgekit.run.engine import EngineSettings
from judgekit.score_reader import settings_from_meta
from judgekit.scoring.redact import run_secrets
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, run_cli
from tests.server import Reply, ScriptedServer

N_UNITS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
INPUTS = ("--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES))
SETTINGS = ScoreSettings(engine=EngineSettings(concurrency=4, backoff_base=0.01), bootstrap=0)
PANEL_KEY = "pk-entry-7c41e9a0b2d6"  # in a variable whose name the environment scan does not catch
ROUTER_KEY = "rk-literal-2b9d04f7e1a3"  # written in the router file itself
URL_PASSWORD = "url-pw-5e8a1c3f"


def cached_judges(cache: Path) -> set[str]:
    """The identities the cache's rows were written under (its ``judge`` column)."""
    with contextlib.closing(sqlite3.connect(cache)) as db:
        return {row[0] for row in db.execute("SELECT DISTINCT judge FROM completions")}


def scored_then_dry_run(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``judgekit score ARGS`` for real, then the same command with ``--dry-run --json``."""
    out = Path(args[args.index("--out") + 1])
    run = run_cli("score", *args, "--no-progress", env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    dry = run_cli("score", *args, "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    return json.loads(out.read_text()), json.loads(dry.stdout)


def assert_all_cached(est: dict[str, Any], judgments: int) -> None:
    assert (est["judgments"], est["cached"], est["calls"]) == (judgments, judgments, 0)
    assert [(j["cached"], j["calls"]) for j in est["judges"]] == [(j["judgments"], 0) for j in est["judges"]]


@pytest.mark.parametrize(
    "extra",
    [(), ("--client", "litellm"), ("--client", "litellm", "--workers", "2")],
    ids=["lean-client", "litellm", "worker-pool"],
)
def test_litellm_model(scripted_server: ScriptedServer, tmp_path: Path, extra: tuple[str, ...]) -> None:
    url = scripted_server.base_url
    options = JudgeOptions(api_base=url)
    expected = f"litellm:openai/judge@{url}|structured=json_schema"
    backend = backend_for("openai/judge")
    assert backend.name == "litellm" and backend.identity is not None
    assert backend.identity("openai/judge", options) == judge_identity(" openai/judge ", options) == expected
    assert scripted_server.count() == 0  # telling the identity called nothing

    cache, out = tmp_path / "c.sqlite", tmp_path / "s.json"
    args = [*INPUTS, "--judge", "openai/judge", "--api-base", url, "--cache", str(cache), "--out", str(out)]
    result, est = scored_then_dry_run([*args, *extra])
    assert result["meta"]["judge"]["identity"] == expected
    assert cached_judges(cache) == {expected}
    assert scripted_server.count() == N_UNITS  # the dry run called nothing
    assert_all_cached(est, N_UNITS)
    assert est["judges"][0]["identity"] == expected


def test_python_module_judges(tmp_path: Path) -> None:
    (tmp_path / "bi_judges.py").write_text(
        "from judgekit.judges import Completion\n\n"
        "def judge(messages, params):\n"
        "    return '{\"match_score\": 1}'\n\n"
        "class Scorer:\n"
        "    identity = 'python:bi-scorer-v1'\n\n"
        "    async def complete(self, messages, params):\n"
        "        return Completion(text='{\"match_score\": 2}')\n"
    )
    path = os.pathsep.join([str(REPO), str(tmp_path), os.environ.get("PYTHONPATH", "")])
    expected = {"bi_judges:judge": "python:bi_judges:judge", "bi_judges:Scorer": "python:bi-scorer-v1"}
    cache, out = tmp_path / "c.sqlite", tmp_path / "s.json"
    args = [*INPUTS, "--judge", "bi_judges:judge", "--judge", "bi_judges:Scorer"]
    result, est = scored_then_dry_run([*args, "--cache", str(cache), "--out", str(out)], {"PYTHONPATH": path})
    assert result["meta"]["judges"] == list(expected.values())
    assert cached_judges(cache) == set(expected.values())
    assert_all_cached(est, 2 * N_UNITS)
    assert [j["identity"] for j in est["judges"]] == list(expected.values())

    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        for spec, identity in expected.items():
            backend = backend_for(spec)
            assert backend.name == "python" and backend.identity is not None
            assert backend.identity(spec, JudgeOptions()) == identity
            assert resolve_judge(spec).identity == identity  # resolve_judge goes through the registry
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("bi_judges", None)


class ObjectJudge:
    identity = "python:bi-object-judge"

    async def complete(self, messages: list[dict[str, str]], params: JudgeParams) -> Completion:
        return Completion(text='{"match_score": 2}')


def test_judge_object_and_panel_entry(
    make_server: Callable[..., ScriptedServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server()
    monkeypatch.setenv("BI_PANEL_PASS", PANEL_KEY)
    entry = PanelJudge(model="openai/judge", api_base=server.base_url, api_key_env="BI_PANEL_PASS", name="e")
    judge = ObjectJudge()
    expected = ["python:bi-object-judge", f"litellm:openai/judge@{server.base_url}|structured=json_schema"]
    for spec, name, identity in zip([judge, entry], ["object", "panel-entry"], expected, strict=True):
        backend = backend_for(spec)
        assert backend.name == name and backend.identity is not None
        assert backend.identity(spec, SETTINGS.judge) == judge_identity(spec, SETTINGS.judge) == identity
    assert server.count() == 0

    cache = tmp_path / "c.sqlite"
    result = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=[judge, entry], settings=SETTINGS, cache=cache)
    assert result.meta["judges"] == expected
    assert cached_judges(cache) == set(expected)
    assert {c["authorization"] for c in server.calls} == {f"Bearer {PANEL_KEY}"}  # the entry's own key
    est = estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=[judge, entry], settings=SETTINGS, cache=cache)
    assert [j.identity for j in est.judges] == expected
    assert (est.cached, est.calls, est.judgments) == (2 * N_UNITS, 0, 2 * N_UNITS)
    assert server.count() == N_UNITS


def write_router(path: Path, url: str, key: str = "os.environ/BI_ROUTER_PASS") -> Path:
    deployment = {
        "model_name": "judge",
        "litellm_params": {"model": "openai/judge", "api_base": url, "api_key": key},
    }
    path.write_text(yaml.safe_dump({"model_list": [deployment]}), encoding="utf-8")
    return path


def test_router_group(
    scripted_server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BI_ROUTER_PASS", "rk-env-91f0")
    router = write_router(tmp_path / "r.yaml", scripted_server.base_url)
    spec = router_judges(router, ["judge"])[0]
    expected = "router:judge=openai/judge|structured=json_schema"  # the group and its models, no endpoint
    backend = backend_for(spec)
    assert backend.name == "router" and backend.identity is not None
    assert backend.identity(spec, JudgeOptions()) == judge_identity(spec) == expected

    cache, out = tmp_path / "c.sqlite", tmp_path / "s.json"
    args = [*INPUTS, "--router", str(router), "--judge", "judge", "--cache", str(cache), "--out", str(out)]
    result, est = scored_then_dry_run(args, {"BI_ROUTER_PASS": "rk-env-91f0"})
    assert result["meta"]["judge"]["identity"] == expected
    assert cached_judges(cache) == {expected}
    assert_all_cached(est, N_UNITS)
    assert scripted_server.count() == N_UNITS

    with pytest.raises(ConfigError, match=r"^--judge router/judge names a group of a router file"):
        judge_identity("router/judge")  # without --router FILE, as opening it says


@pytest.mark.integration
def test_local_model(tmp_path: Path) -> None:
    from tests.test_local_judge import require_local

    require_local()
    from judgekit.judges.local import default_model_path

    model = default_model_path()
    expected = f"local:{model.name}:{model.stat().st_size}|structured=json_object"
    backend = backend_for("local")
    assert backend.identity is not None and backend.identity("local", JudgeOptions()) == expected
    assert judge_identity(f"local:{model}") == expected  # the same file named by its path
    item = dict(json.loads(EXAMPLE_DATASET.read_text())[0])
    item["rubric_aspects"] = item["rubric_aspects"][:2]
    dataset, responses = tmp_path / "one.json", tmp_path / "one_responses.json"
    dataset.write_text(json.dumps([item]))
    responses.write_text(json.dumps({item["id"]: json.loads(EXAMPLE_RESPONSES.read_text())[item["id"]]}))
    cache, out = tmp_path / "c.sqlite", tmp_path / "s.json"
    args = ["--dataset", str(dataset), "--responses", str(responses), "--judge", "local"]
    result, est = scored_then_dry_run([*args, "--cache", str(cache), "--out", str(out)])
    assert result["meta"]["judge"]["identity"] == expected
    assert cached_judges(cache) == {expected}
    assert_all_cached(est, 2)
    assert est["judges"][0]["concurrency"] == 2  # the local backend's declared cap, without a server


@contextlib.contextmanager
def scripted_backend(server: ScriptedServer, **declared: Any) -> Iterator[list[str]]:
    """A user's backend for ``scripted/NAME`` specs: a litellm judge at ``server`` under an identity of its
    own; ``declared`` is what else its Backend declares (its identity function, ...)."""
    events: list[str] = []

    @contextlib.contextmanager
    def open_scripted(spec: str, request: OpenRequest) -> Iterator[OpenedJudge]:
        events.append(f"open {spec}")
        name = spec.split("/", 1)[1]
        yield OpenedJudge(
            LiteLLMJudge(f"openai/{name}", api_base=server.base_url, identity=f"scripted:{name}")
        )

    register(
        Backend(
            "scripted", lambda s: isinstance(s, str) and s.startswith("scripted/"), open_scripted, **declared
        )
    )
    try:
        yield events
    finally:
        unregister("scripted")


def test_user_backend_identity_gives_the_dry_run_its_cache_hits(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    cache = tmp_path / "c.sqlite"

    def declared(spec: str, _options: JudgeOptions) -> str:
        """What the opened judge reports: its base identity and the structured mode it uses at an endpoint."""
        return f"scripted:{spec.split('/', 1)[1]}|structured=json_schema"

    with scripted_backend(scripted_server, identity=declared) as events:
        result = score(
            EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="scripted/judge", settings=SETTINGS, cache=cache
        )
        assert events == ["open scripted/judge"]
        assert result.meta["judge"]["identity"] == "scripted:judge|structured=json_schema"
        est = estimate(
            EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="scripted/judge", settings=SETTINGS, cache=cache
        )
        assert events == ["open scripted/judge"]  # the estimate opened nothing
    assert est.judges[0].identity == "scripted:judge|structured=json_schema"
    assert (est.cached, est.calls) == (N_UNITS, 0)
    assert scripted_server.count() == N_UNITS


def test_user_backend_without_identity_is_refused_by_the_dry_run(scripted_server: ScriptedServer) -> None:
    """A backend that cannot tell its identity unopened gets a one-line error, not a guessed identity (on
    main the dry run priced it as a litellm model of that name, with none of its cache hits)."""
    with scripted_backend(scripted_server) as events, pytest.raises(ConfigError) as err:
        estimate(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="scripted/judge", settings=SETTINGS, cache=False)
    assert str(err.value) == (
        "judge scripted/judge: the scripted backend cannot tell its identity without opening its judge "
        "(give its Backend an identity function)"
    )
    assert events == [] and scripted_server.count() == 0


def test_resolve_judge_goes_through_the_registry(scripted_server: ScriptedServer) -> None:
    built = LiteLLMJudge("openai/judge", api_base=scripted_server.base_url, identity="scripted:built")
    with scripted_backend(scripted_server, build=lambda _spec, _options: built) as events:
        assert resolve_judge("scripted/judge") is built
        assert judge_identity("scripted/judge") == "scripted:built|structured=json_schema"  # from build
    assert events == []
    judge = resolve_judge(" openai/judge ", JudgeOptions(api_base=scripted_server.base_url))
    assert judge.identity == f"litellm:openai/judge@{scripted_server.base_url}|structured=json_schema"
    obj = ObjectJudge()
    assert resolve_judge(obj) is obj
    with pytest.raises(
        ConfigError, match=r"^judge local: the local backend starts what its judge needs; open it"
    ):
        resolve_judge("local")
    with pytest.raises(ConfigError, match=r"^--judge is empty$"):
        resolve_judge("  ")


def test_an_endpoint_recorded_in_an_identity_is_read_by_its_backend() -> None:
    """The gate's re-score reads a panel-file judge's endpoint from its identity through the backend."""
    meta = {"judge": {"identity": "litellm:x/sonnet@20240620@http://127.0.0.1:8/v1|structured=none"}}
    assert settings_from_meta(meta).judge.api_base == "http://127.0.0.1:8/v1"
    register(
        Backend(
            "scripted", lambda s: False, lambda s, r: contextlib.nullcontext(), identity_prefix="scripted:",
            endpoint_from_identity=lambda rest: "http://" + rest.split("~", 1)[1],
        )
    )  # fmt: skip
    try:
        meta = {"judge": {"identity": "scripted:judge~127.0.0.1:9/v1|structured=none"}}
        assert settings_from_meta(meta).judge.api_base == "http://127.0.0.1:9/v1"
    finally:
        unregister("scripted")
    assert settings_from_meta(meta).judge.api_base is None  # no backend reads it now


def test_run_secrets_finds_panel_entry_and_router_keys_through_their_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BI_PANEL_PASS", PANEL_KEY)
    monkeypatch.setenv("BI_ROUTER_PASS", "rk-env-3c7d5a")
    url = f"http://bob:{URL_PASSWORD}@127.0.0.1:9/v1"
    entry = PanelJudge(model="openai/judge", api_base=url, api_key_env="BI_PANEL_PASS")
    assert backend_for(entry).secrets is not None
    assert sorted(backend_for(entry).secrets(entry)) == sorted([PANEL_KEY, URL_PASSWORD])
    write_router(tmp_path / "env.yaml", "http://127.0.0.1:9/v1")
    from_env = router_judges(tmp_path / "env.yaml", ["judge"])[0]
    write_router(tmp_path / "lit.yaml", f"http://ann:{URL_PASSWORD}x@127.0.0.1:9/v1", ROUTER_KEY)
    literal = router_judges(tmp_path / "lit.yaml", ["judge"])[0]
    assert judge_secrets(from_env) == ["rk-env-3c7d5a"]
    assert sorted(judge_secrets(literal)) == sorted([ROUTER_KEY, URL_PASSWORD + "x"])
    assert judge_secrets("openai/judge") == [] and judge_secrets(ObjectJudge()) == []

    found = run_secrets(JudgeOptions(), [entry, from_env, literal, "openai/judge"])
    for secret in (PANEL_KEY, URL_PASSWORD, "rk-env-3c7d5a", ROUTER_KEY, URL_PASSWORD + "x"):
        assert secret in found


def test_a_panel_entry_key_echoed_by_its_server_reaches_no_file(
    scripted_server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the key, found by the panel-entry backend's ``secrets``, is sent and never written."""
    monkeypatch.setenv("BI_PANEL_PASS", PANEL_KEY)
    scripted_server.add_rule(None, Reply(content=json.dumps({"match_score": 1, "note": f"key {PANEL_KEY}"})))
    entry = PanelJudge(model="openai/judge", api_base=scripted_server.base_url, api_key_env="BI_PANEL_PASS")
    cache, out = tmp_path / "c.sqlite", tmp_path / "s.json"
    result = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=entry, settings=SETTINGS, cache=cache, out=out)
    assert result.coverage.scored == N_UNITS
    assert {c["authorization"] for c in scripted_server.calls} == {f"Bearer {PANEL_KEY}"}
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert cache in files and out in files
    assert [p.name for p in files if PANEL_KEY.encode() in p.read_bytes()] == []
