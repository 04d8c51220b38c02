"""`judgekit score --router FILE`: one judge on several deployments through litellm's Router. Real
`judgekit score` processes against two or three scripted servers on 127.0.0.1 (each with its own call log),
a port with nothing listening for a dead deployment, and the score file, run log and SQLite cache read
from disk."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.score_run import finish, start
from tests.server import ScriptedServer

N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
KEY_A = "rk-alpha-5f1c9e27d4b3"  # read from the environment (os.environ/ROUTER_KEY_A)
KEY_B = "rk-bravo-83a6e0c4f912"  # written literally in the router file
ENV = {"ROUTER_KEY_A": KEY_A}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"


def deployment(
    url: str, key: str = "os.environ/ROUTER_KEY_A", model: str = "openai/judge", **more: Any
) -> Any:
    return {
        "model_name": "judge",
        "litellm_params": {"model": model, "api_base": url, "api_key": key, **more},
    }


def write_router(path: Path, *deployments: Any, **settings: Any) -> Path:
    config: dict[str, Any] = {"model_list": list(deployments)}
    if settings:
        config["router_settings"] = settings
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def router_args(tmp_path: Path, router: Path, *extra: str, judge: str | None = "judge") -> list[str]:
    args = ["score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES)]
    args += ["--router", str(router), *(["--judge", judge] if judge else [])]
    return [*args, "--cache", str(tmp_path / "cache.sqlite"), "--out", str(tmp_path / "s.json"), *extra]


def scored(
    tmp_path: Path, router: Path, *extra: str, judge: str | None = "judge", stderr: list[str] | None = None
) -> dict[str, Any]:
    proc = run_cli(*router_args(tmp_path, router, "--no-progress", *extra, judge=judge), env=ENV)
    assert proc.returncode == 0, proc.stderr
    if stderr is not None:
        stderr.append(proc.stderr)
    assert "Traceback" not in proc.stderr
    for key in (KEY_A, KEY_B):
        assert key not in proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads((tmp_path / "s.json").read_text())
    return result


def assert_no_keys(tmp_path: Path) -> None:
    for name in ("s.json", "s.log.jsonl", "cache.sqlite"):
        data = (tmp_path / name).read_bytes()
        for key in (KEY_A, KEY_B):
            assert key.encode() not in data, (name, key)


@pytest.mark.parametrize("workers", ["1", "2"])  # without rpm/tpm the Router may run in each worker process
def test_calls_spread_over_both_deployments_each_with_its_key(
    tmp_path: Path, make_server: Callable[..., ScriptedServer], workers: str
) -> None:
    a, b = make_server(), make_server()
    router = write_router(tmp_path / "r.yaml", deployment(a.base_url), deployment(b.base_url, key=KEY_B))
    result = scored(tmp_path, router, "--workers", workers)
    assert result["coverage"]["scored"] == N_ASPECTS
    assert result["totals"]["calls"] == N_ASPECTS
    assert a.count() > 0 and b.count() > 0, (a.count(), b.count())
    assert a.count() + b.count() == N_ASPECTS
    assert {c["authorization"] for c in a.calls} == {f"Bearer {KEY_A}"}  # os.environ/VAR was read
    assert {c["authorization"] for c in b.calls} == {f"Bearer {KEY_B}"}
    identity = result["meta"]["judge"]["identity"]
    assert identity == "router:judge=openai/judge|structured=json_schema"
    assert_no_keys(tmp_path)


def test_a_dead_deployment_leaves_the_other_to_answer_everything(
    tmp_path: Path, make_server: Callable[..., ScriptedServer]
) -> None:
    alive = make_server()
    router = write_router(tmp_path / "r.yaml", deployment(dead_url()), deployment(alive.base_url))
    result = scored(tmp_path, router)
    assert result["status"] == "ok"
    assert result["coverage"]["scored"] == N_ASPECTS
    assert alive.count(lambda c: c["status"] == 200) == N_ASPECTS


def test_every_deployment_dead_stops_the_run_with_exit_3(tmp_path: Path) -> None:
    one, two = free_port(), free_port()
    with_credentials = (
        f"http://user:{KEY_B}@127.0.0.1:{two}/v1"  # never shown: endpoints are named without them
    )
    router = write_router(
        tmp_path / "r.yaml", deployment(f"http://127.0.0.1:{one}/v1"), deployment(with_credentials)
    )
    proc = start(router_args(tmp_path, router, "--no-progress"), env=ENV)
    assert proc.stderr is not None
    lines, first_failure = [], None
    for line in proc.stderr:  # time from the first failure announced to the exit: the breaker's window
        lines.append(line)
        if first_failure is None and "retrying, the run stops after" in line:
            first_failure = time.monotonic()
    done = finish(proc)
    done.stderr = "".join(lines)
    after_failure = time.monotonic() - (first_failure or 0.0)
    assert_clean_error(done, "router:judge=openai/judge", "unreachable", code=3)
    assert f"connection refused at http://127.0.0.1:{one}/v1" in done.stderr, done.stderr
    assert f"at http://127.0.0.1:{two}/v1" in done.stderr, done.stderr  # named without its credentials
    assert first_failure is not None, done.stderr
    assert after_failure < 15 + 30, after_failure  # the default 15 s window, generous margin
    assert KEY_A not in done.stderr and KEY_B not in done.stderr
    assert not (tmp_path / "s.json").exists()


def test_a_deployment_with_a_low_rpm_gets_no_more_calls_than_its_limit(
    tmp_path: Path, make_server: Callable[..., ScriptedServer]
) -> None:
    limited, free = make_server(), make_server()
    router = write_router(
        tmp_path / "r.yaml", deployment(limited.base_url, rpm=3), deployment(free.base_url, rpm=10_000)
    )
    stderr: list[str] = []
    result = scored(
        tmp_path, router, "--workers", "2", stderr=stderr
    )  # limits keep the Router in one process
    assert "--workers does not apply to judge: its rpm/tpm limits need one process" in stderr[0]
    assert result["coverage"]["scored"] == N_ASPECTS
    # 3 calls per UTC minute: at most 6 if the run straddles a minute boundary
    assert 1 <= limited.count() <= 6, limited.count()
    assert free.count() >= N_ASPECTS - 6


def test_cache_hits_survive_reordered_removed_and_added_deployments(
    tmp_path: Path, make_server: Callable[..., ScriptedServer]
) -> None:
    a, b, c = make_server(), make_server(), make_server()
    router = tmp_path / "r.yaml"
    write_router(router, deployment(a.base_url), deployment(b.base_url))
    first = scored(tmp_path, router)
    assert first["totals"]["calls"] == N_ASPECTS
    made = a.count() + b.count()
    for deployments in (
        [deployment(b.base_url), deployment(a.base_url)],  # reordered
        [deployment(b.base_url)],  # one removed
        [deployment(c.base_url, key=KEY_B), deployment(a.base_url)],  # a different endpoint and key added
    ):
        write_router(router, *deployments)
        again = scored(tmp_path, router)
        assert again["totals"]["cache_hits"] == N_ASPECTS and again["totals"]["calls"] == 0
        assert again["score"] == first["score"]
    assert a.count() + b.count() + c.count() == made
    # another model behind the group is another judge: nothing replayed
    write_router(router, deployment(c.base_url, model="openai/other-judge"))
    other = scored(tmp_path, router)
    assert other["totals"]["calls"] == N_ASPECTS and other["totals"]["cache_hits"] == 0
    assert c.count() == N_ASPECTS


def test_fallbacks_are_part_of_the_judge(tmp_path: Path, make_server: Callable[..., ScriptedServer]) -> None:
    a, backup = make_server(), make_server()
    groups = [
        deployment(a.base_url),
        {**deployment(backup.base_url, model="openai/big"), "model_name": "big"},
    ]
    router = write_router(tmp_path / "r.yaml", *groups, fallbacks=[{"judge": ["big"]}])
    result = scored(tmp_path, router)
    assert (
        result["meta"]["judge"]["identity"]
        == "router:judge=openai/judge>big=openai/big|structured=json_schema"
    )
    assert a.count() == N_ASPECTS and backup.count() == 0


def test_dry_run_prices_the_deployments_model(tmp_path: Path) -> None:
    priced = write_router(
        tmp_path / "p.yaml",
        deployment(dead_url(), model="openai/gpt-4o-mini"),
        deployment(dead_url(), model="gpt-4o-mini"),
    )
    proc = run_cli(*router_args(tmp_path, priced, "--dry-run", "--json"), env=ENV)
    assert proc.returncode == 0, proc.stderr
    est = json.loads(proc.stdout)
    (judge,) = est["judges"]
    assert judge["identity"] == "router:judge=openai/gpt-4o-mini|structured=json_schema"
    assert judge["calls"] == N_ASPECTS
    assert judge["price_source"] == "litellm's price table" and judge["cost_usd"] > 0
    unknown = write_router(tmp_path / "u.yaml", deployment(dead_url()))
    proc = run_cli(*router_args(tmp_path, unknown, "--dry-run"), env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "unknown price" in proc.stdout
    assert not (tmp_path / "s.json").exists()


GOOD = "model_list:\n  - model_name: judge\n    litellm_params: {model: openai/judge, api_base: 'http://127.0.0.1:9/v1'}\n"
BAD_FILES = {
    "bad YAML": ("model_list: [\n", None, "not valid YAML"),
    "a key twice": (
        GOOD + "    model_info: {id: a}\n    model_info: {id: b}\n",
        None,
        "duplicate key 'model_info'",
    ),
    "a typo litellm would ignore": (
        GOOD.replace("openai/judge,", "openai/judge, rmp: 5,"),
        None,
        "rmp: unknown key",
    ),
    "no deployments": ("model_list: []\n", None, "no deployments"),
    "empty file": ("", None, "model_list: Field required"),
    "a proxy section": (
        GOOD + "general_settings: {master_key: x}\n",
        None,
        "general_settings is not supported",
    ),
    "a sampling parameter": (
        GOOD.replace("openai/judge,", "openai/judge, temperature: 1,"),
        None,
        "temperature",
    ),
    "Router retries": (GOOD + "router_settings: {num_retries: 3}\n", None, "--max-retries"),
    "rpm without enforcement": (
        GOOD.replace("openai/judge,", "openai/judge, rpm: 5,")
        + "router_settings: {routing_strategy: simple-shuffle}\n",
        None,
        "does not hold rpm/tpm limits",
    ),
    "an unknown fallback": (
        GOOD + "router_settings: {fallbacks: [{judge: [nope]}]}\n",
        None,
        "'nope' is not a model_name",
    ),
    "a judge not in the file": (GOOD, "other", "'other' is not a model_name"),
    "an unset key variable": (
        GOOD.replace("openai/judge,", "openai/judge, api_key: os.environ/ROUTER_UNSET_VAR,"),
        None,
        "ROUTER_UNSET_VAR",
    ),
    "an endpoint without scheme": (GOOD.replace("http://", ""), None, "not an http://"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_router_file_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    text, judge, needle = BAD_FILES[case]
    router = tmp_path / "r.yaml"
    router.write_text(text, encoding="utf-8")
    proc = run_cli(*router_args(tmp_path, router, judge=judge))
    assert_clean_error(proc, needle)
    assert not (tmp_path / "s.json").exists()


def test_router_options_that_cannot_work(tmp_path: Path) -> None:
    missing = run_cli(*router_args(tmp_path, tmp_path / "nope.yaml"))
    assert_clean_error(missing, "nope.yaml")
    two = tmp_path / "two.yaml"
    two.write_text(GOOD + GOOD.replace("model_list:\n", "").replace("judge\n", "other\n"), encoding="utf-8")
    assert_clean_error(run_cli(*router_args(tmp_path, two, judge=None)), "--judge GROUP", "judge, other")
    no_file = run_cli("score", "--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES),
                      "--judge", "router/judge", "--out", str(tmp_path / "s.json"))  # fmt: skip
    assert_clean_error(no_file, "--router FILE")
    both = run_cli(*router_args(tmp_path, two, "--api-base", "http://127.0.0.1:9/v1"))
    assert_clean_error(both, "--api-base does not apply with --router")
