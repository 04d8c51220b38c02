"""The cached rerun's fast paths keep their meaning: cache keys made by earlier versions still hit, a verdict
read without building a pydantic model equals the model's, and a cached answer that no longer fits the
rubric is judged again (re-asked), never used as it is.

Expected values are written out by hand or come from what the scripted server was told to answer.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

from judgekit import load_rubric, score
from judgekit.judges.base import JudgeParams
from judgekit.rubric.parse import parse_completion
from judgekit.run.cache import request_key
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, run_cli
from tests.server import Reply, ScriptedServer

CRITERIA = REPO / "examples" / "criteria"
ITEMS = json.loads((CRITERIA / "dataset.json").read_text())


def test_cache_keys_are_those_of_earlier_versions() -> None:
    """The key computed by judgekit before the fast path (main at 7b3c586) for the same request."""
    params = JudgeParams(temperature=0.0, schema={"type": "object", "properties": {"s": {"type": "integer"}}})
    messages = [{"role": "user", "content": 'Grade «this» {"a": 1}\n'}]
    assert (
        request_key("litellm:openai/x", messages, params, 2)
        == "46abfb5f3cfd8476bcbf465e5f529f10f59b5a94855f9d11b9568c8bb4271faf"
    )


def _write_rubric(folder: Path, name: str, scale: str, output: list[str], user: str) -> Path:
    """A per-item rubric folder: ``rubric.yaml`` with ``output`` lines under ``output:``, and its templates."""
    folder.mkdir()
    head = [f"name: {name}", "description: test", f"scale: {scale}", "mode: per_item"]
    head += ["modes: {per_item: {user: user.j2}}", "reask: reask.j2", "question_score: raw", "output:"]
    (folder / "rubric.yaml").write_text("\n".join(head + output) + "\n", encoding="utf-8")
    (folder / "user.j2").write_text(user, encoding="utf-8")
    (folder / "reask.j2").write_text("{{ error }}", encoding="utf-8")
    return folder


def _json_rubric(folder: Path) -> Path:
    fields = [
        "  fields:",
        "    score: {type: number, minimum: 0, maximum: 10}",
        "    label: {type: string, enum: [good, bad]}",
        "    level: {type: number, enum: [1, 2]}",
        "    done: {type: boolean}",
        "  score: score",
    ]
    return _write_rubric(folder, "typed", "{min: 0, max: 10}", fields, "Rate {{ response }}.")


def test_plain_verdicts_equal_the_models(tmp_path: Path) -> None:
    rubric = load_rubric(str(_json_rubric(tmp_path / "typed")))
    cases: list[tuple[str, dict[str, Any] | None, str]] = [
        # an int in a number field becomes a float, as pydantic makes it; extra keys are dropped
        (
            '{"score": 3, "label": "good", "level": 2, "done": true, "x": 1}',
            {"score": 3.0, "label": "good", "level": 2, "done": True},
            "",
        ),
        (
            '{"score": 7.5, "label": "bad", "level": 1, "done": false}',
            {"score": 7.5, "label": "bad", "level": 1, "done": False},
            "",
        ),
        # values the plain check does not take as they are still go through the model
        (
            '{"score": "4", "label": "GOOD", "level": 1, "done": false}',
            {"score": 4.0, "label": "good", "level": 1, "done": False},
            "",
        ),
        ('{"score": 11, "label": "good", "level": 1, "done": false}', None, "above the maximum 10"),
        ('{"score": -1, "label": "good", "level": 1, "done": false}', None, "below the minimum 0"),
        ('{"score": 1, "label": "fine", "level": 1, "done": false}', None, "label"),
        ('{"score": 1, "label": "good", "level": 3, "done": false}', None, "level"),
        ('{"score": 1, "label": "good", "level": 1}', None, "Field required"),
        ('{"score": true, "label": "good", "level": 1, "done": false}', None, "booleans are not scores"),
    ]
    for text, verdict, reason in cases:
        result = parse_completion(text, rubric)
        if verdict is None:
            assert not result.ok and reason in (result.reason or ""), (text, result.reason)
            continue
        assert result.ok, (text, result.reason)
        assert result.verdicts == [verdict]
        assert [type(v) for v in result.verdicts[0].values()] == [type(v) for v in verdict.values()]
        assert result.scores == [verdict["score"]]


def test_a_cached_answer_that_no_longer_fits_is_judged_again(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    """A free-text rubric sends no schema, so a narrower scale keeps the cache key: the cached "Score: 5"
    must be refused by the new scale and re-asked, not scored."""
    output = ["  fields: {score: {type: integer, enum: [1, 2, 3, 4, 5]}}", "  score: score"]
    output.append("  pattern: 'Score: (?P<score>\\d+)'")
    user = "Rate {{ response }}. Answer 'Score: N'."
    folder = _write_rubric(tmp_path / "mine", "custom", "{min: 1, max: 5}", output, user)
    spec = folder / "rubric.yaml"
    scripted_server.add_rule(lambda req: len(req["messages"]) > 1, Reply(content="Score: 3"))
    scripted_server.add_rule(None, Reply(content="Score: 5"))
    args = ("score", "--rubric", str(folder), "--dataset", str(CRITERIA / "dataset.json"))
    args += ("--responses", str(CRITERIA / "responses.json"), "--judge", "openai/judge")
    args += ("--api-base", scripted_server.base_url, "--cache", str(tmp_path / "c.sqlite"), "--out")
    first = run_cli(*args, str(tmp_path / "first.json"))
    assert first.returncode == 0, first.stderr
    assert len(scripted_server.calls) == len(ITEMS)
    spec.write_text(
        spec.read_text().replace("max: 5", "max: 4").replace("[1, 2, 3, 4, 5]", "[1, 2, 3, 4]"),
        encoding="utf-8",
    )
    second = run_cli(*args, str(tmp_path / "second.json"))
    assert second.returncode == 0, second.stderr
    assert len(scripted_server.calls) == 2 * len(
        ITEMS
    )  # one re-ask per item, after the refused cached answer
    one, two = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("first", "second"))
    assert one["score"] == 5 and two["score"] == 3
    assert two["totals"]["cache_hits"] == len(ITEMS) and two["totals"]["reasks"] == len(ITEMS)


def instant(messages: list[dict[str, str]], params: object) -> str:
    """A Python judge that answers at once."""
    return '{"match_score": 2}'


def test_rerun_from_the_cache_in_process_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    """score() pauses the cyclic collector and freezes what it keeps while it plans, reads the cache and
    builds the file; afterwards the collector is on and nothing is left frozen. The rerun's log holds every
    row, one JSON object per line, though a whole turn's rows are written together."""
    n = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
    cache = tmp_path / "c.sqlite"
    assert gc.isenabled() and gc.get_freeze_count() == 0
    first = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=f"{__name__}:instant", cache=cache, out=tmp_path / "a.json"
    )
    second = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge=f"{__name__}:instant", cache=cache, out=tmp_path / "b.json"
    )
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert (first.totals.calls, second.totals.calls, second.totals.cache_hits) == (n, 0, n)
    assert second.score == 1.0  # every aspect 2 on LaMP-QA's 0-2 scale
    rows = [json.loads(line) for line in (tmp_path / "b.log.jsonl").read_text().splitlines()]
    kinds = [r["type"] for r in rows]
    assert kinds == ["header"] + ["call", "verdict"] * n + ["summary"]
    assert {r["status"] for r in rows if r["type"] == "call"} == {"cached"}
    assert rows[-1]["status"] == "ok" and rows[-1]["totals"]["cache_hits"] == n
