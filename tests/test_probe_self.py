"""The ``self`` probe of ``judgekit probe``: two scripted servers (the judge and a reference judge), the
difference in differences checked exactly, its question-bootstrap CI against an independent numpy draw."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer, request_text, user_message
from tests.test_probe import _aspect_score, _fair_reply

MARKER = "(written by the judge's own model)"
DATASET = json.loads(EXAMPLE_DATASET.read_text())


def _own_responses(tmp_path: Path) -> Path:
    """The judge's own model's responses: the example responses, each carrying a marker."""
    raw = json.loads(EXAMPLE_RESPONSES.read_text())
    own = {qid: [{"output": rows[0]["output"] + "\n" + MARKER}] for qid, rows in raw.items()}
    path = tmp_path / "own.json"
    path.write_text(json.dumps(own))
    return path


def _other_reply(request: dict[str, Any]) -> Reply:
    """A reference judge with other (unbiased) scores: (the fair score + 1) mod 3, from the title alone."""
    title = re.search(r"^Aspect: (.*)$", user_message(request), flags=re.M)
    assert title is not None
    return Reply.verdict(match_score=(_aspect_score(title.group(1)) + 1) % 3)


def _run(
    judge: ScriptedServer, reference: ScriptedServer, tmp_path: Path, *extra: str, out: str = "p.json"
) -> Any:
    panel = tmp_path / "reference.yaml"
    panel.write_text(
        f"judges:\n  - model: openai/reference\n    api_base: {reference.base_url}\n    api_key_env: REF_KEY\n"
    )
    args = [
        "probe",
        "--judge",
        "openai/judge",
        "--api-base",
        judge.base_url,
        "--dataset",
        str(EXAMPLE_DATASET),
    ]
    args += ["--responses", str(EXAMPLE_RESPONSES), "--probes", "self", "--self", "openai/judge"]
    args += ["--self-responses", str(_own_responses(tmp_path)), "--reference-judge", str(panel)]
    return run_cli(
        *args, *extra, "--out", str(tmp_path / out), env={"OPENAI_API_KEY": "sk-t", "REF_KEY": "k"}
    )


def _question_ci(ids: list[str], diffs: list[float], resamples: int, seed: int) -> tuple[float, float]:
    """Whole questions drawn with replacement, one draw of n questions per resample from default_rng(seed)."""
    questions = list(dict.fromkeys(ids))
    rng = np.random.default_rng(seed)
    d, of = np.asarray(diffs), np.asarray([questions.index(i) for i in ids])
    means = []
    for _ in range(resamples):
        counts = np.bincount(rng.integers(0, len(questions), size=len(questions)), minlength=len(questions))
        w = counts[of]
        means.append(float((w * d).sum() / w.sum()))
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def _scorer(biased: bool) -> Callable[[dict[str, Any]], Reply]:
    def reply(request: dict[str, Any]) -> Reply:
        if biased and MARKER in request_text(request):
            return Reply.verdict(match_score=2)
        return _fair_reply(request)

    return reply


def _scripted_probe(
    judge: ScriptedServer, reference: ScriptedServer, tmp_path: Path, *, biased: bool
) -> tuple[Any, dict[str, Any]]:
    """Both servers scripted, the probe run; ``(process, the self probe's result)``."""
    judge.add_rule(None, _scorer(biased=biased))
    reference.add_rule(None, _other_reply)
    proc = _run(judge, reference, tmp_path)
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads((tmp_path / "p.json").read_text())["probes"][0]


def test_self_preference_equals_scripted_difference(
    scripted_server: ScriptedServer, make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    reference = make_server()
    probe = _scripted_probe(scripted_server, reference, tmp_path, biased=True)[1]
    # self judge: 2 on its own outputs, the fair score f on the others; reference: (f + 1) % 3 on both.
    fair = [_aspect_score(a["aspect"]) for q in DATASET for a in q["rubric_aspects"]]
    ids = [q["id"] for q in DATASET for _ in q["rubric_aspects"]]
    expected = [(2 - (f + 1) % 3) - (f - (f + 1) % 3) for f in fair]
    assert probe["name"] == "self" and probe["n"] == 18 and probe["unscored"] == 0
    assert [u["diff"] for u in probe["units"]] == expected
    assert [u["d_own"] for u in probe["units"]] == [2 - (f + 1) % 3 for f in fair]
    assert probe["effect"] == pytest.approx(sum(2 - f for f in fair) / 18, abs=1e-12) and probe["effect"] > 0
    lo, hi = _question_ci(ids, expected, 2000, 0)
    assert (probe["ci_low"], probe["ci_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
    assert probe["p"] < 0.01 and "questions" in probe["ci"]
    assert "reference" in probe["reference_judge"] and probe["reference_judge"] != probe["self_judge"]
    # each judge judged both response sets once: 18 units x 2 on each server
    assert scripted_server.count() == 36 and reference.count() == 36
    rerun = _run(scripted_server, reference, tmp_path, out="again.json")
    assert rerun.returncode == 0, rerun.stderr
    assert scripted_server.count() == 36 and reference.count() == 36  # all four runs cached


def test_unbiased_pair_shows_zero(make_server: Callable[..., ScriptedServer], tmp_path: Path) -> None:
    proc, probe = _scripted_probe(make_server(), make_server(), tmp_path, biased=False)
    assert probe["effect"] == 0.0 and probe["ci_low"] <= 0.0 <= probe["ci_high"] and probe["p"] == 1.0
    assert probe["n"] == 18
    assert "self " in proc.stdout


def test_self_probe_bad_input(
    scripted_server: ScriptedServer, make_server: Callable[..., ScriptedServer], tmp_path: Path
) -> None:
    reference = make_server()
    own = str(_own_responses(tmp_path))
    base = ("probe", "--judge", "openai/judge", "--api-base", scripted_server.base_url)
    lamp = ("--dataset", str(EXAMPLE_DATASET), "--responses", str(EXAMPLE_RESPONSES), "--probes", "self")
    full = ("--self", "openai/judge", "--self-responses", own, "--reference-judge", "openai/ref")
    out = tmp_path / "never.json"

    def check(*args: str, needle: str) -> None:
        assert_clean_error(run_cli(*base, *args, "--out", str(out), env={"OPENAI_API_KEY": "k"}), needle)

    check(*lamp, "--self", "openai/other", *full[2:], needle="must name the judge of the run")
    check(*lamp, *full[:2], *full[4:], needle="needs --self-responses")
    check(*lamp, *full[:4], needle="needs --reference-judge")
    check(*lamp, *full[2:], needle="needs --self")
    check(*lamp, *full[:4], "--reference-judge", "openai/judge", needle="another judge")
    check(*lamp[:-2], *full, needle="add self to --probes")
    short = tmp_path / "short.json"
    short.write_text(
        json.dumps({k: v for k, v in json.loads(Path(own).read_text()).items() if k != "lqa-003"})
    )
    check(*lamp, *full[:2], "--self-responses", str(short), *full[4:], needle="lqa-003")
    two = tmp_path / "two.yaml"
    two.write_text(f"judges:\n  - model: openai/a\n    api_base: {reference.base_url}\n  - model: openai/b\n")
    check(*lamp, *full[:4], "--reference-judge", str(two), needle="one judge")
    assert not out.exists()
    assert scripted_server.count() == 0 and reference.count() == 0
