"""``--report FILE.html`` on score, validate and gate: the HTML report of the run, written beside its usual
outputs (also when the run fails: gate exit 1, coverage floor exit 4), checked before any work, never
written when the run could not do its job (exit 2, 3).

Real runs against the scripted judge server; the reports open in Debian's headless Chromium through the
helpers of tests/test_report.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import Opener, Page, chromium, page_opener
from tests.conftest import EXAMPLE_DATASET, REPO, assert_clean_error, run_cli
from tests.score_run import score_args
from tests.server import Reply, ScriptedServer

QUESTION_IDS = sorted(q["id"] for q in json.loads(EXAMPLE_DATASET.read_text()))
N_ASPECTS = sum(len(q["rubric_aspects"]) for q in json.loads(EXAMPLE_DATASET.read_text()))
BASELINE = REPO / "examples" / "ci" / "baseline.json"
LABELS = REPO / "examples" / "ci" / "drift" / "labels.json"
PROSE = "This response is pretty good, I would say it covers most of what matters."


@pytest.fixture(scope="module")
def open_page() -> Iterator[Opener]:
    """Open a report offline in one headless Chromium per module; every page records its errors."""
    with chromium() as browser, page_opener(browser) as factory:
        yield factory


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example set scored through the scripted judge with ``--report``: s.json, its log, r.html."""
    d = tmp_path_factory.mktemp("scored")
    with ScriptedServer() as server:
        proc = run_cli(
            *score_args(d, "--no-progress", "--report", str(d / "r.html"), api_base=server.base_url)
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith(f"wrote {d / 'r.html'}"), proc.stdout  # after the summary
    return d


def _clean(page: Page) -> None:
    assert page.errors == [], page.errors
    assert page.requests == [page.url]


def test_score_report_is_the_file_judgekit_report_makes(scored: Path, open_page: Opener) -> None:
    again = run_cli("report", str(scored / "s.json"), "--out", str(scored / "again.html"))
    assert again.returncode == 0, again.stderr
    assert (scored / "r.html").read_bytes() == (scored / "again.html").read_bytes()
    page = open_page(scored / "r.html")
    _clean(page)
    assert sorted(page.ids_on_all_pages()) == QUESTION_IDS
    # the run log beside the score file is read: the judges' raw answers are in the item browser
    assert (
        "judges' raw answers from the run log s.log.jsonl"
        in page.page.locator("section.browser").inner_text()
    )


def test_score_below_the_coverage_floor_still_writes_its_report(
    scripted_server: ScriptedServer, tmp_path: Path, open_page: Opener
) -> None:
    scripted_server.add_rule(None, Reply(content=PROSE))
    report = tmp_path / "failed.html"
    proc = run_cli(
        *score_args(tmp_path, "--no-progress", "--report", str(report), api_base=scripted_server.base_url)
    )
    assert_clean_error(proc, "below --min-coverage", code=4)
    assert json.loads((tmp_path / "s.json").read_text())["status"] == "failed"
    assert f"wrote {report}" in proc.stdout
    page = open_page(report)
    _clean(page)
    verdict = page.page.locator("#summary").inner_text()
    assert f"(0/{N_ASPECTS} units" in verdict, verdict
    assert sorted(page.ids_on_all_pages()) == QUESTION_IDS


def test_score_that_could_not_judge_writes_no_report(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    scripted_server.add_rule(None, Reply.error(401, "Incorrect API key provided: sk-nope"))
    report = tmp_path / "r.html"
    proc = run_cli(
        *score_args(tmp_path, "--no-progress", "--report", str(report), api_base=scripted_server.base_url)
    )
    assert_clean_error(proc, "Incorrect API key", code=3)
    assert not report.exists()


def test_report_problems_stop_the_run_before_any_judge_call(
    scripted_server: ScriptedServer, tmp_path: Path
) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (str(tmp_path), "--report"),  # a directory
        (str(a_file / "r.html"), "--report"),  # under a file
        (str(tmp_path / "s.json"), "--report and --out must name different files"),
        (str(tmp_path / "s.log.jsonl"), "--report and the run log must name different files"),
    ]
    for target, needle in cases:
        proc = run_cli(
            *score_args(tmp_path, "--no-progress", "--report", target, api_base=scripted_server.base_url)
        )
        assert_clean_error(proc, needle)
    assert scripted_server.count() == 0
    assert not (tmp_path / "s.json").exists() and not (tmp_path / "s.log.jsonl").exists()


def _without_matplotlib(*argv: str) -> subprocess.CompletedProcess[str]:
    """judgekit in a process where ``import matplotlib`` fails, as it does when the extra is not installed."""
    code = (
        "import sys; sys.modules['matplotlib'] = None; from judgekit.cli.main import main; "
        f"sys.exit(main({list(argv)!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_without_matplotlib_one_line_before_any_work(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    proc = _without_matplotlib(
        *score_args(tmp_path, "--report", str(report), api_base=scripted_server.base_url)
    )
    assert_clean_error(proc, "judgekit[report]")
    assert scripted_server.count() == 0 and not (tmp_path / "s.json").exists() and not report.exists()
    gate_json = tmp_path / "gate.json"
    proc = _without_matplotlib(
        "gate", "--candidate", str(BASELINE), "--json", str(gate_json), "--report", str(report)
    )
    assert_clean_error(proc, "judgekit[report]")
    assert not gate_json.exists() and not report.exists()


def _validate(scored: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "validate",
        "--judge",
        str(scored / "s.json"),
        "--level",
        "aspect",
        "--allow-missing",
        "--human",
        str(LABELS),
        "--scale",
        "0-2",
        "--top",
        "100",
        *extra,
    )


def test_validate_report_with_and_without_out(scored: Path, tmp_path: Path, open_page: Opener) -> None:
    agreement, report = tmp_path / "agreement.json", tmp_path / "v.html"
    proc = _validate(scored, "--out", str(agreement), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith(f"wrote {agreement}\nwrote {report}")
    again = run_cli("report", str(agreement), "--out", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    assert report.read_bytes() == (tmp_path / "again.html").read_bytes()

    # without --out the report is made from the result in memory: same figures, same items
    alone = tmp_path / "alone.html"
    proc = _validate(scored, "--quiet", "--report", str(alone))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    page = open_page(alone)
    _clean(page)
    text = page.page.locator("main").inner_text()
    assert "Validate report" in text
    listed = [
        row["id"] for d in json.loads(agreement.read_text())["dimensions"] for row in d["disagreements"]
    ]
    assert listed and all(item_id in text for item_id in listed)
    assert all(item_id.split("::")[0] in QUESTION_IDS for item_id in listed)


def test_validate_bad_input_writes_no_report(scored: Path, tmp_path: Path) -> None:
    report = tmp_path / "v.html"
    missing = tmp_path / "missing.csv"
    proc = run_cli(
        "validate", "--judge", str(scored / "s.json"), "--human", str(missing), "--report", str(report)
    )
    assert_clean_error(proc, "missing.csv")
    assert not report.exists()


def _gate(scored: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gate.yaml"
    # a floor no run of the example set reaches, and every question that fell listed
    config.write_text("version: 1\nfloors: {score: 0.99}\nper_question: {top: 6, drop: 0.0}\n")
    return run_cli(
        "gate",
        "--candidate",
        str(scored / "s.json"),
        "--baseline",
        str(BASELINE),
        "--config",
        str(config),
        *extra,
    )


def test_failed_gate_writes_its_report(scored: Path, tmp_path: Path, open_page: Opener) -> None:
    result, report = tmp_path / "gate.json", tmp_path / "g.html"
    proc = _gate(scored, tmp_path, "--json", str(result), "--report", str(report))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.rstrip().endswith(f"wrote {report}")
    again = run_cli("report", str(result), "--out", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    assert report.read_bytes() == (tmp_path / "again.html").read_bytes()
    page = open_page(report)
    _clean(page)
    assert "FAILED" in page.page.locator("#summary").inner_text()
    text = page.page.locator("main").inner_text()
    regressed = [q["id"] for q in json.loads(result.read_text())["regressed"]]
    assert all(q in QUESTION_IDS for q in regressed)
    assert all(q in text for q in regressed)

    # without --json: from the result in memory, failing just the same
    alone = tmp_path / "alone.html"
    proc = _gate(scored, tmp_path, "-q", "--report", str(alone))
    assert proc.returncode == 1 and proc.stdout == "", proc.stderr
    page = open_page(alone)
    _clean(page)
    assert "FAILED" in page.page.locator("#summary").inner_text()


def test_gate_usage_errors_write_no_report(scored: Path, tmp_path: Path) -> None:
    report = tmp_path / "g.html"
    proc = _gate(scored, tmp_path, "--json", str(report), "--report", str(report))
    assert_clean_error(proc, "--report and --json must name different files")
    bad = tmp_path / "bad.yaml"
    bad.write_text("floors: {score: 0.5, bogus: 1}\n")
    proc = run_cli(
        "gate", "--candidate", str(scored / "s.json"), "--config", str(bad), "--report", str(report)
    )
    assert_clean_error(proc, "bogus")
    assert not report.exists()
