"""``judgekit report``: the HTML report rendered in a real headless Chromium (Debian's package).

The inputs come from real runs: the example LaMP-QA set scored through the scripted judge server (one
judge answer is hostile markup, one response contains ``<script>``), ``judgekit validate`` of that score
file against three annotators, and ``judgekit gate`` against the stored baseline; the compare result
and a 120-question score file are written by hand here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import Opener, chromium, page_opener
from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, assert_clean_error, run_cli
from tests.server import Reply, ScriptedServer

HOSTILE_ANSWER = (
    '<script>window.__pwned = 1; alert(1)</script> </script><img src=x onerror="window.__pwned=2">'
)
HOSTILE_RESPONSE = "Try this: <script>alert(1)</script> and then </script><b>bold?</b> done."


# --- inputs from real runs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """score -> validate -> gate on the example set, plus a hand-written compare result."""
    d = tmp_path_factory.mktemp("report-inputs")
    env = {"JUDGEKIT_CACHE_DIR": str(d / "cache")}
    responses = json.loads(EXAMPLE_RESPONSES.read_text())
    responses["lqa-002"] = [{"output": HOSTILE_RESPONSE}]
    (d / "responses.json").write_text(json.dumps(responses))
    with ScriptedServer() as server:
        # Every answer for this aspect is markup, not a verdict: parse errors, then unscored.
        server.add_rule("Knee care", Reply(content=HOSTILE_ANSWER))
        proc = run_cli(
            "score",
            "--dataset",
            str(EXAMPLE_DATASET),
            "--responses",
            str(d / "responses.json"),
            "--judge",
            "openai/judge",
            "--api-base",
            server.base_url,
            "--no-progress",
            "--out",
            str(d / "candidate.json"),
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        server.reset()
        # A panel of two judges, with lexical metrics against the references.
        panel = run_cli(
            "score",
            "--dataset",
            str(EXAMPLE_DATASET),
            "--responses",
            str(EXAMPLE_RESPONSES),
            "--references",
            str(REPO / "examples" / "lamp_qa" / "references.json"),
            "--judge",
            "openai/judge",
            "--judge",
            "openai/judge2",
            "--samples",
            "2",
            "--api-base",
            server.base_url,
            "--no-progress",
            "--out",
            str(d / "panel.json"),
            env=env,
        )
        assert panel.returncode == 0, panel.stderr
        pairwise = run_cli(
            "score",
            "--rubric",
            "pairwise",
            "--dataset",
            str(REPO / "examples" / "pairwise" / "dataset.json"),
            "--responses-a",
            str(REPO / "examples" / "pairwise" / "responses_a.json"),
            "--responses-b",
            str(REPO / "examples" / "pairwise" / "responses_b.json"),
            "--judge",
            "openai/judge",
            "--api-base",
            server.base_url,
            "--no-progress",
            "--out",
            str(d / "pairwise.json"),
            env=env,
        )
        assert pairwise.returncode == 0, pairwise.stderr
    labels = json.loads((REPO / "examples" / "ci" / "drift" / "labels.json").read_text())
    three = []
    for k, row in enumerate(labels):
        three.append(row)
        three.append(
            {**row, "annotator": "rater2", "label": row["label"] if k % 3 else min(2, row["label"] + 1)}
        )
        three.append(
            {**row, "annotator": "rater3", "label": row["label"] if k % 4 else max(0, row["label"] - 1)}
        )
    (d / "labels.json").write_text(json.dumps(three))
    proc = run_cli(
        "validate",
        "--judge",
        str(d / "candidate.json"),
        "--level",
        "aspect",
        "--allow-missing",
        "--human",
        str(d / "labels.json"),
        "--scale",
        "0-2",
        "--out",
        str(d / "agreement.json"),
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    (d / "gate.yaml").write_text(
        "version: 1\nfloors: {score: 0.3, coverage: 0.99}\nregression: {tolerance: 0.02}\n"
        "per_question: {top: 5, drop: 0.05}\n"
    )
    proc = run_cli(
        "gate",
        "--candidate",
        str(d / "candidate.json"),
        "--baseline",
        str(REPO / "examples" / "ci" / "baseline.json"),
        "--config",
        str(d / "gate.yaml"),
        "--json",
        str(d / "gate.json"),
        env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    compare = {
        "systems": [
            {
                "name": "sys-a",
                "score": 0.61,
                "ci_low": 0.55,
                "ci_high": 0.67,
                "rank": 1,
                "rank_low": 1,
                "rank_high": 2,
                "n_questions": 120,
            },
            {
                "name": "sys-b </script>",
                "score": 0.57,
                "ci_low": 0.5,
                "ci_high": 0.63,
                "rank": 2,
                "rank_low": 1,
                "rank_high": 2,
                "n_questions": 120,
            },
        ],
        "pairs": [
            {
                "a": "sys-a",
                "b": "sys-b </script>",
                "difference": 0.04,
                "ci_low": -0.01,
                "ci_high": 0.09,
                "p": 0.11,
                "p_adjusted": 0.11,
                "n": 120,
            }
        ],
    }
    (d / "compare.json").write_text(json.dumps(compare))
    (d / "many.json").write_text(json.dumps(_many_questions(120)))
    # A pairwise validate report: hand-made verdicts in both orders against gold preferences.
    verdicts = [
        {"id": f"p{k}", "winner_original": "12"[k % 2], "winner_swapped": "12"[(k // 3) % 2]}
        for k in range(40)
    ]
    (d / "verdicts.jsonl").write_text("".join(json.dumps(v) + "\n" for v in verdicts))
    (d / "gold.csv").write_text("id,label\n" + "".join(f"p{k},{1 + k % 3 // 2}\n" for k in range(40)))
    proc = run_cli(
        "validate",
        "--pairwise",
        "--judge",
        str(d / "verdicts.jsonl"),
        "--human",
        str(d / "gold.csv"),
        "--out",
        str(d / "pwvalidate.json"),
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    names = ("candidate", "agreement", "gate", "compare", "many", "panel", "pairwise", "pwvalidate")
    return {k: d / f"{k}.json" for k in names} | {"dir": d}


def _many_questions(n: int) -> dict[str, Any]:
    """A score file of n questions x 2 criteria written by hand (no log, no dataset beside it)."""
    questions = []
    for k in range(n):
        scores = [float(k % 3), float((k * 7) % 3)]
        questions.append(
            {
                "id": f"item-{k:04d}",
                "score": sum(scores) / 4,
                "category": ["alpha", "beta", "gamma"][k % 3],
                "details": [
                    {"aspect": "accuracy", "score": scores[0]},
                    {"aspect": f"clarity of answer {k}" if k == 77 else "clarity", "score": scores[1]},
                ],
                "scored": 2,
                "total": 2,
                "coverage": 1.0,
            }
        )
    return {
        "score": sum(q["score"] for q in questions) / n,
        "score_ci": {"ci_low": 0.3, "ci_high": 0.4, "confidence": 0.95},
        "per_question_scores": questions,
        "coverage": {
            "scored": 2 * n,
            "total": 2 * n,
            "ratio": 1.0,
            "questions_scored": n,
            "questions_total": n,
        },
        "meta": {"command": ["judgekit", "score", "--dataset", "d.json", "--out", "many.json"]},
    }


def _report(*inputs: Path, out: Path) -> Path:
    proc = run_cli("report", *map(str, inputs), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out


# --- the browser ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def open_page(browser: Any) -> Iterator[Opener]:
    with page_opener(browser) as factory:
        yield factory


def _plot_sizes(page: Any) -> dict[str, list[float]]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('figure.plot')].map((f, k) => {
            const r = f.querySelector('svg').getBoundingClientRect();
            return [f.dataset.plot + '#' + k, [r.width, r.height]];
        }))"""
    )


# --- tests ------------------------------------------------------------------------------------------------


def test_all_four_kinds_mix_in_one_report(runs: dict[str, Path], open_page: Any, tmp_path: Path) -> None:
    out = _report(
        runs["candidate"], runs["agreement"], runs["gate"], runs["compare"], out=tmp_path / "r.html"
    )
    p = open_page(out)
    assert p.errors == []
    headings = p.page.locator("main > section > h2").all_text_contents()
    assert headings == [
        "Verdict",
        "Score file: candidate.json",
        "Validate report: agreement.json",
        "Gate result: gate.json",
        "Compare result: compare.json",
    ]
    sizes = _plot_sizes(p.page)
    names = {k.split("#")[0] for k in sizes}
    assert {
        "question-scores",
        "by-category",
        "correlations",
        "score-shares",
        "judge-vs-human",
        "paired-differences",
        "compare-systems",
        "compare-pairs",
    } <= names, names
    assert all(w > 50 and h > 50 for w, h in sizes.values()), sizes
    # The verdict table names each input's verdict; the gate's verdict is a badge.
    verdicts = p.page.locator("#summary tbody tr").all_text_contents()
    assert len(verdicts) == 4
    assert "score " in verdicts[0] and "coverage" in verdicts[0]
    assert "Spearman" in verdicts[1]
    assert "PASSED" in verdicts[2] or "FAILED" in verdicts[2]
    # Provenance: rubric hash, input hashes, and the command the run recorded (judgekit score records it).
    prov = p.page.locator("#in0-prov").inner_text()
    meta = json.loads(runs["candidate"].read_text())["meta"]
    assert meta["rubric"]["content_sha256"] in prov
    assert meta["inputs"]["dataset"]["sha256"] in prov
    assert meta["command"].startswith("judgekit score --dataset")
    assert meta["command"] in prov and "rebuilt from meta" not in prov
    # Unscored units with their reason (the hostile aspect), as text.
    unscored = p.page.locator("#in0-unscored").inner_text()
    assert "Knee care" in unscored
    # The gate lists every check with its status.
    gate = json.loads(runs["gate"].read_text())
    checks = p.page.locator("#in2-checks tbody tr").all_text_contents()
    assert len(checks) == len(gate["checks"])
    # Nothing left the page.
    assert p.requests == [p.url]


def test_every_question_id_appears_and_search_filters(
    runs: dict[str, Path], open_page: Any, tmp_path: Path
) -> None:
    out = _report(runs["many"], out=tmp_path / "many.html")
    p = open_page(out)
    assert p.errors == []
    expected = [f"item-{k:04d}" for k in range(120)]
    shown = p.ids_on_all_pages()
    assert shown == expected
    section = p.page.locator("section.browser")
    assert section.locator("details").count() == 120 - 2 * 50  # the last page
    # Search by id.
    section.locator("input.search").fill("item-004")
    assert section.locator("details summary .qid").all_text_contents() == [
        f"item-{k:04d}" for k in range(40, 50)
    ]
    # Search by text inside a question (one aspect name only item-0077 has).
    section.locator("input.search").fill("CLARITY OF ANSWER")
    assert section.locator("details summary .qid").all_text_contents() == ["item-0077"]
    assert "1 of 120 questions" in section.locator(".pageinfo").inner_text()
    section.locator("input.search").fill("")
    assert section.locator("details").count() == 50
    # The recorded command is shown as recorded, and the file's score CI is drawn and written.
    prov = p.page.locator("#in0-prov").inner_text()
    assert "judgekit score --dataset d.json --out many.json" in prov and "rebuilt" not in prov
    assert "95% CI 0.300–0.400" in prov
    assert p.errors == [] and p.requests == [p.url]


def test_hostile_text_shows_as_text_and_runs_nothing(
    runs: dict[str, Path], open_page: Any, tmp_path: Path
) -> None:
    out = _report(runs["candidate"], runs["compare"], out=tmp_path / "hostile.html")
    p = open_page(out)
    section = p.page.locator("section.browser")
    # The question whose response has <script>: search by its question text, open it.
    section.locator("input.search").fill("bold?")
    rows = section.locator("details")
    assert rows.count() == 1
    rows.first.locator("summary").click()
    rows.first.locator(".body").wait_for()  # built on the toggle event, the first time it opens
    body = rows.first.inner_text()
    assert HOSTILE_RESPONSE in body
    # The question whose judge answered with markup: the raw answer and the parse error, as text.
    section.locator("input.search").fill("lqa-001")
    section.locator("details").first.locator("summary").click()
    section.locator("details .body").wait_for()
    body = section.locator("details").first.inner_text()
    assert HOSTILE_ANSWER in body
    assert "parse error" in body
    assert p.page.evaluate("() => window.__pwned") is None
    assert p.page.locator("section.browser img").count() == 0
    assert p.page.locator("section.browser b").count() == 0
    assert p.dialogs == []
    # A system name with </script> in the compare tables stays text too.
    assert "sys-b </script>" in p.page.locator("#in1").inner_text()
    assert p.errors == [] and p.requests == [p.url]


def test_same_inputs_give_byte_identical_files(runs: dict[str, Path], tmp_path: Path) -> None:
    inputs = (runs["candidate"], runs["agreement"], runs["gate"], runs["compare"])
    a = _report(*inputs, out=tmp_path / "a.html").read_bytes()
    b = _report(*inputs, out=tmp_path / "b.html").read_bytes()
    assert a == b


def test_bad_inputs_are_one_line_errors_without_output(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"hello": 1}))
    assert_clean_error(
        run_cli("report", str(runs["candidate"]), str(unknown), "--out", str(out)), "unknown.json"
    )
    notjson = tmp_path / "x.json"
    notjson.write_text("{nope")
    assert_clean_error(run_cli("report", str(notjson), "--out", str(out)), "invalid JSON")
    assert_clean_error(run_cli("report", str(tmp_path / "missing.json"), "--out", str(out)), "not found")
    broken = tmp_path / "gate.json"
    broken.write_text(json.dumps({"judgekit_gate": 1, "passed": True, "checks": [{"name": 1}]}))
    assert_clean_error(run_cli("report", str(broken), "--out", str(out)), "gate")
    assert not out.exists()
    assert run_cli("report", "--out", str(out)).returncode == 2


def test_library_call_takes_loaded_objects(runs: dict[str, Path], tmp_path: Path) -> None:
    """write_report is the one call score/validate/gate's --report will make; loaded objects work too."""
    from judgekit.report import build_report, write_report
    from judgekit.results import load_score_file

    sf = load_score_file(runs["many"])
    html = build_report([sf, json.loads(runs["compare"].read_text())])
    assert html.startswith("<!DOCTYPE html>")
    written = write_report([runs["many"]], tmp_path / "sub" / "r.html")
    assert written.read_text(encoding="utf-8") == build_report([runs["many"]])


def test_example_command_from_the_readme(runs: dict[str, Path], tmp_path: Path) -> None:
    """The README's command: the report of the stored example baseline (a score file from the example set)."""
    out = _report(REPO / "examples" / "ci" / "baseline.json", out=tmp_path / "example.html")
    assert out.stat().st_size > 10_000


def test_panel_pairwise_and_lexical_sections(runs: dict[str, Path], open_page: Any, tmp_path: Path) -> None:
    out = _report(runs["panel"], runs["pairwise"], runs["pwvalidate"], out=tmp_path / "pp.html")
    p = open_page(out)
    assert p.errors == []
    sizes = _plot_sizes(p.page)
    names = {k.split("#")[0] for k in sizes}
    assert {
        "panel-scores",
        "panel-alpha",
        "lexical-vs-judge",
        "pairwise-rates",
        "pairwise-agreement",
    } <= names, names
    assert all(w > 50 and h > 50 for w, h in sizes.values()), sizes
    panel = json.loads(runs["panel"].read_text())
    judges = (
        p.page.locator("#in0-panel-sec table").first.locator("tbody tr td:first-child").all_text_contents()
    )
    assert judges == [j["identity"] for j in panel["panel"]["judges"]]
    lexical = p.page.locator("#in0-lexical-sec").inner_text()
    assert "rougeL_f" in lexical and "Spearman with judge" in lexical
    pairwise = p.page.locator("#in1-pairwise-sec").inner_text()
    assert "position consistency" in pairwise
    counts = json.loads(runs["pairwise"].read_text())["pairwise"]["counts"]
    assert f"tie {counts['tie']}" in pairwise
    consistency = p.page.locator("#in0-consistency-sec").inner_text()
    assert "2 samples per judgment" in consistency
    figures = json.loads(runs["pwvalidate"].read_text())["pairwise"]["figures"]
    table = p.page.locator("#in2-pw").inner_text()
    assert all(name in table for name in figures)
    assert p.requests == [p.url]


def test_ten_thousand_questions_stay_responsive(open_page: Any, tmp_path: Path) -> None:
    """Paging keeps the page light: 50 rows in the DOM, a search over 10,000 questions answers at once."""
    big = tmp_path / "big.json"
    big.write_text(json.dumps(_many_questions(10_000)))
    out = _report(big, out=tmp_path / "big.html")
    assert out.stat().st_size < 15_000_000
    p = open_page(out)
    section = p.page.locator("section.browser")
    assert section.locator("details").count() == 50
    assert "page 1 of 200" in section.locator(".pageinfo").inner_text()
    elapsed = p.page.evaluate(
        """() => {
            const box = document.querySelector('section.browser input.search');
            const t = performance.now();
            box.value = 'item-9999';
            box.dispatchEvent(new Event('input'));
            return performance.now() - t;
        }"""
    )
    assert section.locator("details summary .qid").all_text_contents() == ["item-9999"]
    assert elapsed < 2000, elapsed  # typically ~50 ms
    assert section.locator("button.next").is_disabled()
    assert p.errors == [] and p.requests == [p.url]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by a fresh Python that imports this checkout's judgekit."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_without_matplotlib_the_error_says_what_to_install(runs: dict[str, Path], tmp_path: Path) -> None:
    """matplotlib is the 'report' extra: without it, one line naming the extra, exit 2, no file."""
    out = tmp_path / "r.html"
    code = (
        "import sys; sys.modules['matplotlib'] = None; from judgekit.cli.main import main; "
        f"sys.exit(main(['report', {str(runs['many'])!r}, '--out', {str(out)!r}]))"
    )
    proc = _python(code)
    assert_clean_error(proc, "judgekit[report]")
    assert not out.exists()


def test_unscored_and_parse_error_filters_and_unit_status(
    runs: dict[str, Path], open_page: Any, tmp_path: Path
) -> None:
    """The item browser's filters and status column (a unit's status travels only when not "scored")."""
    candidate = json.loads(runs["candidate"].read_text())
    with_unscored = {u["id"] for u in candidate["unscored"]}
    assert with_unscored, "the hostile aspect leaves units unscored"
    log = Path(candidate["meta"]["log"])
    calls = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    with_parse_error = {c["id"] for c in calls if c.get("type") == "call" and c.get("parse_error")}
    assert with_parse_error
    out = _report(runs["candidate"], out=tmp_path / "filters.html")
    p = open_page(out)
    section = p.page.locator("section.browser")
    section.locator("select.filter").select_option("unscored")
    assert set(p.ids_on_all_pages()) == with_unscored
    first = section.locator("details").first
    n_unscored = sum(1 for u in candidate["unscored"] if u["id"] == first.locator(".qid").inner_text())
    assert f"{n_unscored} unscored" in first.locator("summary .meta").inner_text()
    first.locator("summary").click()
    first.locator(".body").wait_for()
    statuses = first.locator(".body table tr td:nth-child(3)").all_text_contents()
    question = next(
        q for q in candidate["per_question_scores"] if q["id"] == first.locator(".qid").inner_text()
    )
    assert statuses == [d.get("status", "scored") for d in question["details"]]
    assert statuses.count("unscored") == n_unscored
    section.locator("select.filter").select_option("parse")
    assert set(p.ids_on_all_pages()) == with_parse_error
    section.locator("select.filter").select_option("all")
    assert len(p.ids_on_all_pages()) == len(candidate["per_question_scores"])
    assert p.errors == [] and p.requests == [p.url]


def test_wrong_types_deep_in_a_score_file_are_one_line_errors(runs: dict[str, Path], tmp_path: Path) -> None:
    """Questions are checked by a cheap strict pass; what it refuses goes to pydantic, which names the
    field: one line, exit 2, no output file."""
    out = tmp_path / "r.html"
    good = json.loads(runs["many"].read_text())
    cases = [
        (("per_question_scores", 7, "details", 1, "aspect"), 5, "per_question_scores.7.details.1.aspect"),
        (("per_question_scores", 3, "details", 0, "score"), "high", "per_question_scores.3.details.0.score"),
        (
            ("per_question_scores", 2, "details", 0, "status"),
            "maybe",
            "per_question_scores.2.details.0.status",
        ),
        (("per_question_scores", 9, "details"), {"aspect": "x"}, "per_question_scores.9.details"),
        (("per_question_scores", 4, "id"), None, "per_question_scores.4.id"),
        (("coverage", "ratio"), "all", "coverage.ratio"),
    ]
    for path, value, field_name in cases:
        bad = json.loads(json.dumps(good))
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        f = tmp_path / "bad.json"
        f.write_text(json.dumps(bad))
        proc = run_cli("report", str(f), "--out", str(out))
        assert_clean_error(proc, field_name)
        assert not out.exists()


def test_values_pydantic_coerces_still_load(runs: dict[str, Path], open_page: Any, tmp_path: Path) -> None:
    """A number written as a string fails the strict pass but loads through pydantic, as load_score_file
    would load it: the report shows the number."""
    data = json.loads(runs["many"].read_text())
    data["per_question_scores"][0]["score"] = "0.875"
    data["per_question_scores"][0]["details"][0]["score"] = "2"
    f = tmp_path / "coerced.json"
    f.write_text(json.dumps(data))
    out = _report(f, out=tmp_path / "coerced.html")
    p = open_page(out)
    first = p.page.locator("section.browser details").first
    assert first.locator(".qid").inner_text() == "item-0000"
    assert "score 0.875" in first.locator("summary .meta").inner_text()
    first.locator("summary").click()
    first.locator(".body").wait_for()
    assert first.locator(".body table tr td:nth-child(2)").all_text_contents()[0] == "2.000"
    assert p.errors == []


def test_loaded_score_file_and_its_path_give_the_same_items(runs: dict[str, Path]) -> None:
    """The pydantic object a caller passes and the checked dicts read from a file feed the item browser the
    same data."""
    from judgekit.report.inputs import load_input
    from judgekit.report.score_section import browser_data
    from judgekit.results import load_score_file

    for name in ("many", "panel", "pairwise", "candidate"):
        # The parsed mapping takes the same path as the file, without the run log and texts beside it.
        from_dicts = load_input(json.loads(runs[name].read_text()), 0)
        from_object = load_input(load_score_file(runs[name]), 0)
        assert len(from_dicts.questions) == len(json.loads(runs[name].read_text())["per_question_scores"])
        assert browser_data(from_object)["items"] == browser_data(from_dicts)["items"], name


def test_garbage_collector_is_restored_after_a_build(runs: dict[str, Path], tmp_path: Path) -> None:
    """The build pauses the cyclic GC (the loaded file is hundreds of thousands of objects): it is back on
    after a report, and after a failed one."""
    import gc

    from judgekit.errors import InputError
    from judgekit.report import build_report

    assert gc.isenabled()
    build_report([runs["many"]])
    assert gc.isenabled()
    with pytest.raises(InputError):
        build_report([runs["many"], tmp_path / "missing.json"])
    assert gc.isenabled()
    gc.disable()
    try:
        build_report([runs["many"]])
        assert not gc.isenabled()  # a caller's own choice is left as it was
    finally:
        gc.enable()


def test_a_score_file_report_does_not_import_what_it_does_not_need(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """scipy (judgekit.validate), the gate's statistics and litellm cost seconds to import: a score file's
    report loads none of them."""
    out = tmp_path / "r.html"
    code = (
        "import sys; from judgekit.cli.main import main; "
        f"code = main(['report', {str(runs['many'])!r}, '--out', {str(out)!r}]); "
        "print('imported:', *sorted(m for m in sys.modules if m.split('.')[0] in "
        "('scipy', 'litellm', 'openai', 'nltk') or m in ('judgekit.validate', 'judgekit.gate'))); "
        "sys.exit(code)"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "imported:", proc.stdout
    assert out.stat().st_size > 10_000
