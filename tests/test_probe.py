"""``judgekit probe``: counterfactual re-judging against the scripted server, effects checked exactly, the
bootstrap CI and the p-value against independent computations (numpy, scipy), the gate's probe check."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats as sps

from judgekit.probe.run import effect_stats, load_probe_texts
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, expected_score, request_text, user_message

TEXTS = load_probe_texts()
PAIRWISE = REPO / "examples" / "pairwise"


def _aspect_score(title: str) -> int:
    """The unbiased judge's score of an aspect: a function of the aspect's title only."""
    return expected_score("aspect title: " + title)


def _fair_reply(request: dict[str, Any]) -> Reply:
    """Scores each aspect from its title alone, whatever the response says and wherever the aspect is listed."""
    user = user_message(request)
    listed = re.findall(r"^## (aspect_\d+): (.*)$", user, flags=re.M)
    if listed:
        return Reply.verdict({slot: {"match_score": _aspect_score(t)} for slot, t in listed})
    title = re.search(r"^Aspect: (.*)$", user, flags=re.M)
    assert title is not None
    return Reply.verdict(match_score=_aspect_score(title.group(1)))


def _biased(server: ScriptedServer, sentences: list[str]) -> None:
    """A judge that gives the top score whenever the response carries one of ``sentences``."""
    server.add_rule(lambda req: any(s in request_text(req) for s in sentences), Reply.verdict(match_score=2))


def _probe(server: ScriptedServer, *args: str, out: Path) -> dict[str, Any]:
    proc = run_cli(
        "probe",
        "--judge",
        "openai/judge",
        "--api-base",
        server.base_url,
        *args,
        "--out",
        str(out),
        env={"OPENAI_API_KEY": "sk-test"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(out.read_text())


def _lamp(server: ScriptedServer, probes: str, out: Path, *extra: str) -> dict[str, Any]:
    return _probe(
        server,
        "--dataset",
        str(EXAMPLE_DATASET),
        "--responses",
        str(EXAMPLE_RESPONSES),
        "--probes",
        probes,
        *extra,
        out=out,
    )


def _by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in result["probes"]}


def _numpy_ci(diffs: list[float], resamples: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap of the mean: units drawn with replacement from default_rng(seed) in one draw."""
    d = np.asarray(diffs)
    idx = np.random.default_rng(seed).integers(0, d.size, size=(resamples, d.size))
    lo, hi = np.quantile(d[idx].mean(axis=1), [0.025, 0.975])
    return float(lo), float(hi)


def test_biased_judge_effect_equals_scripted_difference(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    _biased(scripted_server, TEXTS.filler + TEXTS.injection)
    scripted_server.add_rule(None, _fair_reply)
    result = _lamp(scripted_server, "verbosity,injection", tmp_path / "probe.json")
    dataset = json.loads(EXAMPLE_DATASET.read_text())
    expected = [2 - _aspect_score(a["aspect"]) for q in dataset for a in q["rubric_aspects"]]
    for name in ("verbosity", "injection"):
        probe = _by_name(result)[name]
        assert probe["n"] == 18 and probe["unscored"] == 0
        assert [u["diff"] for u in probe["units"]] == expected  # dataset order, aspect order
        assert probe["effect"] == pytest.approx(sum(expected) / 18, abs=1e-12)
        lo, hi = _numpy_ci(expected, 2000, 0)
        assert probe["ci_low"] == pytest.approx(lo, abs=1e-12) and probe["ci_high"] == pytest.approx(
            hi, abs=1e-12
        )
        ref = sps.bootstrap(
            (np.asarray(expected, float),), np.mean, method="percentile", n_resamples=20000, random_state=1
        ).confidence_interval
        assert abs(probe["ci_low"] - ref.low) < 0.08 and abs(probe["ci_high"] - ref.high) < 0.08
        assert probe["p"] < 0.01
    assert result["meta"]["questions"] == 6


def test_unbiased_judge_shows_zero_effect(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, _fair_reply)
    result = _lamp(scripted_server, "verbosity,injection,aspect_order", tmp_path / "probe.json")
    for probe in result["probes"]:
        assert probe["effect"] == 0.0 and probe["ci_low"] <= 0.0 <= probe["ci_high"], probe["name"]
        assert probe["p"] == 1.0 and probe["n"] == 18
    calls = scripted_server.count()
    # The same engine and cache as score: a rerun makes no judge call.
    again = _lamp(scripted_server, "verbosity,injection,aspect_order", tmp_path / "again.json")
    assert scripted_server.count() == calls
    assert again["meta"]["calls"] == 0 and again["meta"]["cache_hits"] == result["meta"]["calls"]


def test_aspect_order_biased_judge(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """A judge that gives the first listed aspect a 2 and every other aspect a 0: each unit's difference is
    2 x (first in the permuted list) - 2 x (first in the original list), read from the calls it received."""

    def first_wins(request: dict[str, Any]) -> Reply:
        slots = re.findall(r"^## (aspect_\d+): ", user_message(request), flags=re.M)
        return Reply.verdict({s: {"match_score": 2 if s == "aspect_1" else 0} for s in slots})

    scripted_server.add_rule(None, first_wins)
    result = _lamp(scripted_server, "aspect_order", tmp_path / "probe.json")
    probe = _by_name(result)["aspect_order"]
    firsts: dict[str, list[str]] = {}
    for call in scripted_server.calls:
        user = user_message(call["request"])
        question = user.split("# Question\n", 1)[1].split("\n", 1)[0]
        firsts.setdefault(question, []).append(re.findall(r"^## aspect_1: (.*)$", user, flags=re.M)[0])
    dataset = json.loads(EXAMPLE_DATASET.read_text())
    expected = []
    for q in dataset:
        original, permuted = firsts[q["question"]]
        expected += [
            2 * (a["aspect"] == permuted) - 2 * (a["aspect"] == original) for a in q["rubric_aspects"]
        ]
    assert sorted(u["diff"] for u in probe["units"]) == sorted(expected)
    assert probe["effect"] == pytest.approx(sum(expected) / len(expected), abs=1e-12)


def test_position_probe(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    files = {"dataset": "dataset.json", "responses-a": "responses_a.json", "responses-b": "responses_b.json"}
    args = ("--rubric", "pairwise", "--probes", "position")
    args += tuple(x for flag, name in files.items() for x in (f"--{flag}", str(PAIRWISE / name)))
    rule = scripted_server.add_rule(None, Reply.verdict(winner="first"))
    probe = _by_name(_probe(scripted_server, *args, out=tmp_path / "first.json"))["position"]
    assert (probe["effect"], probe["ci_low"], probe["ci_high"], probe["n"]) == (1.0, 1.0, 1.0, 4)
    assert probe["position_consistency"]["value"] == 0.0
    scripted_server.reset()
    scripted_server.add_rule(None, Reply.verdict(winner="tie"))
    probe = _by_name(_probe(scripted_server, *args, "--no-cache", out=tmp_path / "tie.json"))["position"]
    assert (probe["effect"], probe["p"]) == (0.0, 1.0)
    assert rule.fired == 8


def test_sample_is_seeded(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, _fair_reply)
    a = _lamp(scripted_server, "verbosity", tmp_path / "a.json", "--sample", "3", "--seed", "7")
    b = _lamp(scripted_server, "verbosity", tmp_path / "b.json", "--sample", "3", "--seed", "7")
    ids = {u["id"] for u in a["probes"][0]["units"]}
    assert len(ids) == 3 and ids == {u["id"] for u in b["probes"][0]["units"]}
    assert a["meta"]["questions"] == 3 and a["meta"]["questions_available"] == 6


@pytest.mark.parametrize("n", [2, 5, 10])
def test_p_value_matches_scipy_exact_sign_flip(n: int) -> None:
    rng = np.random.default_rng(n)
    diffs = rng.integers(-2, 3, size=n).astype(float) + (0.5 if n == 5 else 0.0)
    _, _, _, p = effect_stats(diffs.tolist(), resamples=2000, seed=0)
    ref = sps.permutation_test(
        (diffs,), np.mean, permutation_type="samples", n_resamples=math.inf, alternative="two-sided"
    ).pvalue
    assert p == pytest.approx(min(1.0, ref), abs=1e-12)


def _gate(tmp_path: Path, probe_file: Path, limit: float, name: str = "verbosity") -> Any:
    config = tmp_path / f"gate_{limit}.yaml"
    config.write_text(
        yaml.safe_dump(
            {"regression": False, "probes": {"file": probe_file.name, "max_effect": {name: limit}}}
        )
    )
    return run_cli(
        "gate", "--candidate", str(REPO / "examples" / "ci" / "baseline.json"), "--config", str(config)
    )


def test_gate_fails_on_probe_effect_above_threshold(tmp_path: Path) -> None:
    probe_file = tmp_path / "probe.json"
    probe_file.write_text(
        json.dumps(
            {
                "probes": [
                    {
                        "name": "verbosity",
                        "effect": 0.3,
                        "ci_low": 0.1,
                        "ci_high": 0.5,
                        "p": 0.01,
                        "n": 18,
                        "unscored": 0,
                    }
                ]
            }
        )
    )
    failed = _gate(tmp_path, probe_file, 0.05)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "verbosity effect +0.3000" in failed.stdout
    passed = _gate(tmp_path, probe_file, 0.5)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert_clean_error(_gate(tmp_path, probe_file, 0.5, name="injection"), "no probe 'injection'")


def test_bad_input_one_line_errors(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    base = ("probe", "--judge", "openai/judge", "--api-base", scripted_server.base_url)
    lamp = ("--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES))
    assert_clean_error(run_cli(*base, *lamp, "--probes", "verbosty"), "unknown probe 'verbosty'")
    assert_clean_error(run_cli(*base, *lamp, "--probes", "position"), "needs a pairwise rubric")
    texts = tmp_path / "texts.yaml"
    texts.write_text("filler: [a]\ninjection: [b]\nfillers: [c]\n")
    assert_clean_error(run_cli(*base, *lamp, "--probe-texts", str(texts)), "fillers")
    texts.write_text("filler: []\ninjection: [b]\n")
    assert_clean_error(run_cli(*base, *lamp, "--probe-texts", str(texts)), "filler")
    out = tmp_path / "never.json"
    assert_clean_error(
        run_cli(
            *base,
            "--dataset",
            str(tmp_path / "missing.json"),
            "--responses",
            str(EXAMPLE_RESPONSES),
            "--out",
            str(out),
        ),
        "missing.json",
    )
    assert not out.exists()
    assert scripted_server.count() == 0


def test_position_probe_on_a_dataset_without_ids(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """LLMBar rows carry no id (ids are row numbers): a sample keeps each row's own id."""
    scripted_server.add_rule(None, Reply.verdict(winner="first"))
    args = ("--rubric", "pairwise", "--dataset", str(PAIRWISE / "llmbar.json"), "--probes", "position")
    result = _probe(scripted_server, *args, "--sample", "2", "--seed", "3", out=tmp_path / "p.json")
    probe = _by_name(result)["position"]
    assert (probe["effect"], probe["n"]) == (1.0, 2)
    rows = json.loads((PAIRWISE / "llmbar.json").read_text())
    seen = "\n".join(user_message(c["request"]) for c in scripted_server.calls)
    for unit in probe["units"]:  # the row a unit's id names is the row the judge was shown
        assert rows[int(unit["id"]) - 1]["input"] in seen
