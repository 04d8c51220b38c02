"""`judgekit score` end to end through litellm and real HTTP against the scripted judge server.

Expected scores are computed from what the server answered (its own call log and its documented
deterministic rule), never from judgekit's output.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from judgekit import ScoreSettings, score
from judgekit.errors import JudgeUnavailable
from judgekit.judges import JudgeOptions
from judgekit.run.engine import EngineSettings
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, assert_clean_error, run_cli
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer, user_message

DATASET = json.loads(EXAMPLE_DATASET.read_text())
N_ASPECTS = sum(len(q["rubric_aspects"]) for q in DATASET)
NO_SERVER = "http://127.0.0.1:9/v1"  # nothing listens: for runs refused before any call


def settings(server: ScriptedServer, **engine: Any) -> ScoreSettings:
    opts = {"backoff_base": 0.01, "concurrency": 8, **engine}
    return ScoreSettings(
        judge=JudgeOptions(api_base=server.base_url, api_key="sk-test"), engine=EngineSettings(**opts)
    )


def expected_from_calls(server: ScriptedServer) -> dict[str, dict[str, int]]:
    """Per question and aspect title, the score the server gave (read from the server's own log)."""
    out: dict[str, dict[str, int]] = {}
    for call in server.calls:
        text = user_message(call["request"])
        for q in DATASET:
            if q["question"] in text:
                for a in q["rubric_aspects"]:
                    if f"Aspect: {a['aspect']}\n" in text:
                        answer = json.loads(call["content"])
                        out.setdefault(q["id"], {})[a["aspect"]] = answer["match_score"]
    return out


def test_score_arithmetic_matches_server_verdicts(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    result = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings(scripted_server), out=out
    )
    assert scripted_server.count() == N_ASPECTS  # one call per (question, aspect)
    given = expected_from_calls(scripted_server)
    written = json.loads(out.read_text())
    q_scores = []
    for q in written["per_question_scores"]:
        aspects = given[q["id"]]
        expected = sum(aspects.values()) / (2 * len(aspects))
        assert q["score"] == pytest.approx(expected)
        assert {d["aspect"]: d["score"] for d in q["details"]} == pytest.approx(aspects)
        assert q["coverage"] == 1.0
        q_scores.append(expected)
    assert written["score"] == pytest.approx(sum(q_scores) / len(q_scores))
    assert result.score == pytest.approx(written["score"])
    assert written["coverage"] == {
        "scored": N_ASPECTS,
        "total": N_ASPECTS,
        "ratio": 1.0,
        "questions_scored": 6,
        "questions_total": 6,
    }
    assert written["totals"]["calls"] == N_ASPECTS and written["totals"]["cache_hits"] == 0
    assert written["totals"]["prompt_tokens"] > 0
    # the run log: a header with provenance, then one line per call and per verdict
    rows = [json.loads(line) for line in (tmp_path / "scores.log.jsonl").read_text().splitlines()]
    assert rows[0]["type"] == "header"
    meta = rows[0]["meta"]
    assert meta["rubric"]["name"] == "lamp_qa" and len(meta["rubric"]["content_sha256"]) == 64
    assert meta["inputs"]["dataset"]["sha256"] and meta["judgekit_version"]
    calls = [r for r in rows if r["type"] == "call"]
    assert len(calls) == N_ASPECTS and all(r["status"] == "ok" and r["key"] for r in calls)


def test_structured_output_requested(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings(scripted_server))
    fmt = scripted_server.calls[0]["request"]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["properties"]["match_score"]["enum"] == [0, 1, 2]
    assert scripted_server.calls[0]["request"]["temperature"] == 0


def test_llama_cpp_structured_form(scripted_server: ScriptedServer) -> None:
    s = settings(scripted_server)
    s.judge.structured = "json_object"
    score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s)
    fmt = scripted_server.calls[0]["request"]["response_format"]
    assert fmt["type"] == "json_object" and fmt["schema"]["required"] == ["match_score"]


def test_all_aspects_mode_one_call_per_question(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    s = settings(scripted_server)
    s.mode = "all_aspects"
    result = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s)
    assert scripted_server.count() == len(DATASET)
    for call in scripted_server.calls:
        text = user_message(call["request"])
        q = next(q for q in DATASET if q["question"] in text)
        got = result.by_id()[q["id"]]
        answer = json.loads(call["content"])  # what the server said: {"aspect_1": {...}, ...}
        expected = [answer[f"aspect_{k}"]["match_score"] for k in range(1, len(q["rubric_aspects"]) + 1)]
        assert [d.score for d in got.details] == expected
        assert got.score == pytest.approx(sum(expected) / (2 * len(expected)))


def test_samples_are_averaged(scripted_server: ScriptedServer) -> None:
    s = settings(scripted_server)
    s.samples = 3
    scripted_server.queue([Reply.verdict(match_score=v) for v in (0, 1, 2)])
    scripted_server.add_rule(None, Reply.verdict(match_score=2))
    result = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s)
    assert scripted_server.count() == 3 * N_ASPECTS
    details = [d for q in result.per_question_scores for d in q.details]
    averaged = [d for d in details if sorted(x for x in d.samples if x is not None) == [0, 1, 2]]
    assert len(averaged) >= 1 and all(d.score == pytest.approx(1.0) for d in averaged)


def test_unparseable_becomes_unscored_not_zero(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule("Aspect: Knee care\n", Reply(content="The knee advice seems fine overall."))
    scripted_server.add_rule(None, Reply.verdict(match_score=2))
    result = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings(scripted_server)
    )
    q = result.by_id()["lqa-001"]
    knee = next(d for d in q.details if d.aspect == "Knee care")
    assert knee.status == "unscored" and knee.score is None
    assert "unparseable after 3 answers" in (knee.reason or "") and "no JSON" in (knee.reason or "")
    assert q.score == pytest.approx(1.0)  # the two scored aspects, both 2: 4 / (2 x 2)
    assert (q.scored, q.total) == (2, 3)
    assert result.coverage.scored == N_ASPECTS - 1
    assert result.totals.reasks == 2
    # the re-asks went to the server with the validation error in them
    reasks = sorted(
        (c for c in scripted_server.calls if len(c["request"]["messages"]) > 2),
        key=lambda c: len(c["request"]["messages"]),
    )
    assert [len(c["request"]["messages"]) for c in reasks] == [4, 6] and "could not be used" in reasks[0][
        "request"
    ]["messages"][-1]["content"]
    assert [u.aspect for u in result.unscored] == ["Knee care"]


def test_reask_recovers(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule("Aspect: Knee care\n", Reply(content='{"match_score": 7}'), times=1)
    scripted_server.add_rule(None, Reply.verdict(match_score=1))
    result = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings(scripted_server)
    )
    assert result.coverage.ratio == 1.0 and result.totals.reasks == 1
    assert scripted_server.count() == N_ASPECTS + 1


def test_rerun_is_served_from_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    first = score(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=settings(scripted_server),
        cache=cache,
        out=tmp_path / "a.json",
    )
    n = scripted_server.count()
    second = score(
        EXAMPLE_DATASET,
        EXAMPLE_RESPONSES,
        judge="openai/judge",
        settings=settings(scripted_server),
        cache=cache,
        out=tmp_path / "b.json",
    )
    assert scripted_server.count() == n  # zero new calls
    assert second.totals.calls == 0 and second.totals.cache_hits == N_ASPECTS
    assert first.model_dump()["per_question_scores"] == second.model_dump()["per_question_scores"]
    # a real SQLite file in WAL mode, one row per judgment, and no failures stored
    db = sqlite3.connect(cache)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM completions").fetchone()[0] == N_ASPECTS


def test_template_change_invalidates_cache(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    import shutil

    rubric = tmp_path / "my_rubric"
    shutil.copytree(Path(__file__).parent.parent / "rubrics" / "lamp_qa", rubric)
    s = settings(scripted_server)
    s.rubric = str(rubric)
    score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s)
    (rubric / "user.j2").write_text((rubric / "user.j2").read_text().replace("# Question", "# The question"))
    score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s)
    assert scripted_server.count() == 2 * N_ASPECTS


def test_failures_are_not_cached(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    scripted_server.add_rule("Aspect: Knee care\n", Reply.error(500), times=None)
    s = settings(scripted_server, max_retries=1)
    r1 = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s, cache=cache)
    knee = next(d for d in r1.by_id()["lqa-001"].details if d.aspect == "Knee care")
    assert knee.status == "unscored" and "server_error" in (knee.reason or "")
    scripted_server.clear_script()
    r2 = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=s, cache=cache)
    assert r2.totals.calls == 1 and r2.coverage.ratio == 1.0


def test_api_key_never_written(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    key = "sk-fake-judgekit-0123456789abcdef"
    out = tmp_path / "s.json"
    cache = tmp_path / "c.sqlite"
    args = score_args(
        tmp_path, "--api-key-env", "MY_KEY", api_base=scripted_server.base_url, cache=cache, out=out
    )
    proc = run_cli(*args, env={"MY_KEY": key})
    assert proc.returncode == 0, proc.stderr
    # the key did reach the server...
    assert any(key in str(c.get("headers", {}).get("Authorization", "")) for c in scripted_server.calls)
    # ...and nowhere else
    for path in (out, tmp_path / "s.log.jsonl", cache):
        assert key.encode() not in path.read_bytes(), path
    assert key not in proc.stdout + proc.stderr


def test_unknown_key_error_is_redacted(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    key = "sk-fake-judgekit-0123456789abcdef"
    scripted_server.add_rule(None, Reply.error(401, f"Incorrect API key provided: {key}"))
    out = tmp_path / "s.json"
    args = score_args(
        tmp_path, "--api-key-env", "MY_KEY", api_base=scripted_server.base_url, cache=False, out=out
    )
    proc = run_cli(*args, env={"MY_KEY": key})
    assert key not in proc.stdout + proc.stderr
    if out.exists():
        assert key not in out.read_text() and key not in (tmp_path / "s.log.jsonl").read_text()


# -- bad input: one line naming file, id and field; exit 2; no output file ---------------------------------


def _write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _good_dataset() -> list[dict[str, Any]]:
    return json.loads(EXAMPLE_DATASET.read_text())


BAD_DATASETS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("invalid_json", '[{"id": "a",', ("invalid JSON",)),
    ("not_a_list", {"id": "x"}, ("expected a JSON list",)),
    ("question_wrong_type", lambda d: d[0].update(question=42), ("lqa-001", "question", "expected a string")),
    ("missing_narrative", lambda d: d[1].pop("narrative"), ("lqa-002", "narrative", "missing")),
    ("empty_aspects", lambda d: d[2].update(rubric_aspects=[]), ("lqa-003", "rubric_aspects", "empty")),
    ("aspects_not_list", lambda d: d[2].update(rubric_aspects="x"), ("lqa-003", "rubric_aspects")),
    (
        "aspect_title_missing",
        lambda d: d[0]["rubric_aspects"][1].pop("aspect"),
        ("lqa-001", "rubric_aspects[1].aspect"),
    ),
    ("duplicate_ids", lambda d: d[1].update(id="lqa-001"), ("duplicate ids", "lqa-001")),
    ("missing_id", lambda d: d[0].pop("id"), ("item #1", "'id'")),
]


@pytest.mark.parametrize("name,mutation,needles", BAD_DATASETS, ids=[b[0] for b in BAD_DATASETS])
def test_bad_dataset(tmp_path: Path, name: str, mutation: Any, needles: tuple[str, ...]) -> None:
    if callable(mutation):
        data = _good_dataset()
        mutation(data)
        mutation = data
    ds = _write(tmp_path / "dataset.json", mutation)
    out = tmp_path / "out.json"
    proc = run_cli(
        *score_args(
            tmp_path, dataset=ds, responses=EXAMPLE_RESPONSES, api_base=NO_SERVER, cache=False, out=out
        )
    )
    assert_clean_error(proc, str(ds), *needles)
    assert not out.exists() and not (tmp_path / "out.log.jsonl").exists()


BAD_RESPONSES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("missing_id", lambda r: r.pop("lqa-004"), ("lqa-004", "have no response")),
    ("extra_id", lambda r: r.update({"zzz-9": [{"output": "x"}]}), ("zzz-9", "not in")),
    ("empty_list", lambda r: r.update({"lqa-002": []}), ("lqa-002", "no response")),
    (
        "wrong_type",
        lambda r: r.update({"lqa-002": [{"output": 5}]}),
        ("lqa-002", "output", "expected a string"),
    ),
    ("no_output_field", lambda r: r.update({"lqa-002": [{"text": "x"}]}), ("lqa-002", "output", "missing")),
]


@pytest.mark.parametrize("name,mutation,needles", BAD_RESPONSES, ids=[b[0] for b in BAD_RESPONSES])
def test_bad_responses(tmp_path: Path, name: str, mutation: Any, needles: tuple[str, ...]) -> None:
    data = json.loads(EXAMPLE_RESPONSES.read_text())
    mutation(data)
    rs = _write(tmp_path / "responses.json", data)
    out = tmp_path / "out.json"
    proc = run_cli(*score_args(tmp_path, responses=rs, api_base=NO_SERVER, cache=False, out=out))
    assert_clean_error(proc, *needles)
    assert not out.exists()


def test_jsonl_inputs_accepted(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    ds = tmp_path / "d.jsonl"
    ds.write_text("".join(json.dumps(r) + "\n" for r in _good_dataset()))
    rs = tmp_path / "r.jsonl"
    responses = json.loads(EXAMPLE_RESPONSES.read_text())
    rs.write_text(
        "".join(json.dumps({"id": k, "output": v[0]["output"]}) + "\n" for k, v in responses.items())
    )
    result = score(ds, rs, judge="openai/judge", settings=settings(scripted_server))
    assert result.coverage.total == N_ASPECTS


def test_non_utf8_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "d.json"
    bad.write_bytes(b'[{"id": "\xff\xfe"}]')
    inputs: dict[str, Any] = {
        "responses": EXAMPLE_RESPONSES,
        "judge": None,
        "cache": False,
        "out": tmp_path / "o",
    }
    proc = run_cli(*score_args(tmp_path, dataset=bad, **inputs))
    assert_clean_error(proc, "not UTF-8")
    proc = run_cli(*score_args(tmp_path, dataset=tmp_path / "nope.json", **inputs))
    assert_clean_error(proc, "file not found")


def test_bad_option_values(tmp_path: Path) -> None:
    defaults: dict[str, Any] = {"judge": None, "cache": False, "out": tmp_path / "o.json"}
    proc = run_cli(*score_args(tmp_path, "--samples", "0", **defaults))
    assert_clean_error(proc, "--samples")
    proc = run_cli(*score_args(tmp_path, "--rubric", "no_such_rubric", **defaults))
    assert_clean_error(proc, "unknown rubric", "lamp_qa")
    assert not (tmp_path / "o.json").exists()


def test_worker_processes_give_the_same_results_and_cache_keys(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    cache = tmp_path / "c.sqlite"
    pooled = settings(scripted_server)
    pooled.judge.workers = 2
    a = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=pooled, cache=cache)
    assert a.totals.calls == N_ASPECTS and a.coverage.ratio == 1.0
    # the same judgments in-process are all cache hits: the pool kept the judge's identity
    single = settings(scripted_server)
    single.judge.workers = 1
    b = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=single, cache=cache)
    assert b.totals.calls == 0 and b.totals.cache_hits == N_ASPECTS
    assert a.model_dump()["per_question_scores"] == b.model_dump()["per_question_scores"]


def test_worker_processes_retry_and_fail_like_in_process(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule("Aspect: Knee care\n", Reply.rate_limited(retry_after=0), times=2)
    scripted_server.add_rule("Aspect: Gesture drawing\n", Reply.error(400, "bad request"))
    pooled = settings(scripted_server)
    pooled.judge.workers = 2
    result = score(EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=pooled)
    assert result.totals.retries == 2
    gesture = next(d for d in result.by_id()["lqa-005"].details if d.aspect == "Gesture drawing")
    assert gesture.status == "unscored" and (gesture.reason or "").startswith("call_failed")
    assert result.coverage.scored == N_ASPECTS - 1


def test_references_add_lexical_metrics_and_correlations(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    from rouge_score import rouge_scorer
    from scipy import stats

    refs_path = EXAMPLE_DATASET.parent / "references.json"
    refs = json.loads(refs_path.read_text())
    responses = {k: v[0]["output"] for k, v in json.loads(EXAMPLE_RESPONSES.read_text()).items()}
    out = tmp_path / "s.json"
    lexical = ("--references", str(refs_path), "--metrics", "rouge1,rougeL", "--no-progress")
    proc = run_cli(*score_args(tmp_path, *lexical, api_base=scripted_server.base_url, cache=False, out=out))
    assert proc.returncode == 0, proc.stderr
    assert "rouge1_f" in proc.stdout and "spearman" in proc.stdout  # the overall table
    written = json.loads(out.read_text())
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    expected = {k: scorer.score(refs[k], responses[k]) for k in refs}  # target first, then prediction
    for q in written["per_question_scores"]:
        assert q["lexical"]["rouge1_f"] == pytest.approx(expected[q["id"]]["rouge1"].fmeasure)
        assert q["lexical"]["rougeL_r"] == pytest.approx(expected[q["id"]]["rougeL"].recall)
    ids = [q["id"] for q in written["per_question_scores"]]
    r1 = [expected[i]["rouge1"].fmeasure for i in ids]
    assert written["lexical"]["overall"]["rouge1_f"] == pytest.approx(sum(r1) / len(r1))
    judge = [q["score"] for q in written["per_question_scores"]]
    corr = written["lexical"]["correlation_with_judge"]["rouge1_f"]
    assert corr["spearman"] == pytest.approx(stats.spearmanr(r1, judge).statistic)
    assert corr["kendall"] == pytest.approx(stats.kendalltau(r1, judge).statistic)
    assert "mean of item-level" in written["lexical"]["aggregation"]


def test_references_missing_an_id(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    refs = json.loads((EXAMPLE_DATASET.parent / "references.json").read_text())
    refs.pop("lqa-005")
    path = _write(tmp_path / "refs.json", refs)
    out = tmp_path / "s.json"
    args = score_args(
        tmp_path, "--references", str(path), api_base=scripted_server.base_url, cache=False, out=out
    )
    proc = run_cli(*args)
    assert_clean_error(proc, "lqa-005")
    assert not out.exists() and scripted_server.count() == 0  # checked before any judge call


def test_a_judge_that_cannot_answer_stops_the_run(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    key = "sk-fake-judgekit-0123456789abcdef"
    scripted_server.add_rule(None, Reply.error(401, f"Incorrect API key provided: {key}"))
    out = tmp_path / "s.json"
    args = score_args(
        tmp_path, "--api-key-env", "MY_KEY", api_base=scripted_server.base_url, cache=False, out=out
    )
    proc = run_cli(*args, env={"MY_KEY": key})
    assert_clean_error(proc, "without one answer", "Incorrect API key", code=3)
    made = int(proc.stderr.split("failed on all ")[1].split(" call(s) made")[0])
    assert made == scripted_server.count()  # the true count, not "first 8"
    assert key not in proc.stderr and not out.exists()


def test_a_judge_that_cannot_answer_stops_early(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    from benchmarks._common import synthetic_lamp_qa

    ds, rs = synthetic_lamp_qa(tmp_path, 50, 4)
    scripted_server.add_rule(None, Reply.error(404, "model 'judge' not found"))
    with pytest.raises(JudgeUnavailable, match=r"failed on all \d+ call\(s\) made without one answer"):
        score(ds, rs, judge="openai/judge", settings=settings(scripted_server))
    assert scripted_server.count() <= 16  # of 200 judgments: stopped instead of failing every one


def test_some_permanent_failures_do_not_stop_a_working_judge(scripted_server: ScriptedServer) -> None:
    scripted_server.add_rule("Aspect: Knee care\n", Reply.error(400, "bad request"))
    result = score(
        EXAMPLE_DATASET, EXAMPLE_RESPONSES, judge="openai/judge", settings=settings(scripted_server)
    )
    assert result.coverage.scored == N_ASPECTS - 1


def test_the_command_that_reproduces_the_run_is_recorded(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    out = tmp_path / "s.json"
    args = score_args(tmp_path, api_base=scripted_server.base_url, cache=False, out=out)
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(out.read_text())["meta"]
    assert meta["command"] == " ".join(["judgekit", *args])  # no argument here needs shell quoting
    # the run log's header carries it too, so an interrupted run can be reproduced as well
    header = json.loads((tmp_path / "s.log.jsonl").read_text().splitlines()[0])
    assert header["meta"]["command"] == meta["command"]
