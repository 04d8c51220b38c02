"""What importing the gate, and running it, loads: the gate reads score files and does arithmetic on them, so
it must not pay for the runner, the scorer or the judges (litellm, aiohttp) unless a drift set is re-scored.

Each check runs in a fresh interpreter (an import already made by another test would hide a heavy one) and
lists ``sys.modules`` after the import or the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

#: Packages the gate must not load on its own: the runner, the scorer, the judges and their SDKs.
RUN_STACK = ("judgekit.run", "judgekit.scoring", "judgekit.judges", "litellm", "aiohttp", "openai")


def _modules_after(code: str, *argv: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``code`` in a fresh interpreter; it must end by printing ``sorted(sys.modules)`` as its last line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    tail = "\nimport json as _j, sys as _s\nprint(_j.dumps(sorted(_s.modules)))\n"
    proc = subprocess.run(
        [sys.executable, "-c", code + tail, *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert proc.stdout.strip(), proc.stderr
    return proc, set(json.loads(proc.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_importing_the_gate_loads_no_runner_scorer_or_judge() -> None:
    proc, modules = _modules_after("import judgekit.gate")
    assert proc.returncode == 0, proc.stderr
    # the import did happen: the gate's checks and the score-file reader they use are there
    assert {"judgekit.gate.checks", "judgekit.gate.drift", "judgekit.score_reader"} <= modules
    assert _loaded(modules, RUN_STACK) == []
    # nor the rubric stack (templates, YAML rubric files), which only a re-score needs
    assert _loaded(modules, ("judgekit.rubric", "jinja2")) == []


def _score_file(scores: dict[str, float]) -> dict[str, object]:
    """A score file with one aspect per question (0..1 scale, as lamp_qa's normalized score) and the rubric
    and judge meta that the provenance check compares."""
    questions = [
        {"id": q, "score": s, "details": [{"aspect": f"{q}/a", "score": s}], "scored": 1, "total": 1}
        for q, s in scores.items()
    ]
    n = len(questions)
    return {
        "score": sum(scores.values()) / n,
        "per_question_scores": questions,
        "coverage": {"scored": n, "total": n, "ratio": 1.0, "questions_scored": n, "questions_total": n},
        "meta": {
            "rubric": {"name": "lamp_qa", "content_sha256": "b" * 64, "mode": "per_aspect"},
            "judge": {
                "identity": "litellm:openai/judge|structured=json_schema",
                "temperature": 0.0,
                "samples": 1,
            },
        },
    }


def test_a_gate_run_without_a_drift_set_loads_no_runner_scorer_or_judge(tmp_path: Path) -> None:
    """``gate(candidate, baseline)``: floors, the paired regression and the provenance check (which reads both
    files' meta back) run on the two files alone."""
    scores = {f"q{i}": (i % 5) / 4 for i in range(12)}
    base = tmp_path / "baseline.json"
    cand = tmp_path / "candidate.json"
    base.write_text(json.dumps(_score_file(scores)), encoding="utf-8")
    cand.write_text(json.dumps(_score_file(scores)), encoding="utf-8")
    code = (
        "import sys\nfrom judgekit.gate import gate\nresult = gate(sys.argv[1], sys.argv[2])\n"
        "print('PASSED', result.passed, *sorted(f'{c.name}={c.status}' for c in result.checks))"
    )
    proc, modules = _modules_after(code, str(cand), str(base))
    assert proc.returncode == 0, proc.stderr
    verdict = proc.stdout.splitlines()[0].split()
    # identical files: the gate passes, with no regression and the same rubric and judge on both sides
    assert verdict[:2] == ["PASSED", "True"], proc.stdout
    assert {"regression=pass", "provenance=pass"} <= set(verdict[2:]), proc.stdout
    assert _loaded(modules, RUN_STACK) == []


def test_help_imports_no_judge_sdk() -> None:
    """`judgekit --help` and `judgekit gate --help` (test_doctor covers `doctor --help`)."""
    for argv in (["--help"], ["gate", "--help"]):
        code = (
            "from judgekit.cli.main import main\ntry:\n    main("
            + repr(argv)
            + ")\nexcept SystemExit as e:\n"
            "    print('EXIT', e.code)"
        )
        proc, modules = _modules_after(code)
        assert "EXIT 0" in proc.stdout and "usage:" in proc.stdout, (argv, proc.stdout, proc.stderr)
        assert _loaded(modules, ("litellm", "aiohttp", "openai")) == [], argv


def test_every_public_name_imports_and_is_the_one_its_package_shows() -> None:
    """``from judgekit import NAME`` for all of ``judgekit.__all__``; each is the object its package
    re-exports (judgekit.judges.Judge is judgekit.Judge), whichever module the lazy import reads it from."""
    code = (
        "import importlib, judgekit\n"
        "faces = [importlib.import_module(m) for m in ('judgekit.judges', 'judgekit.rubric', 'judgekit.lexical',"
        " 'judgekit.run.batch', 'judgekit.scoring.core', 'judgekit.scoring.estimation')]\n"
        "bad = []\n"
        "for name in judgekit.__all__:\n"
        "    ns = {}\n"
        "    exec(f'from judgekit import {name}', ns)\n"
        "    bad += [f'{name} in {f.__name__}' for f in faces if name in vars(f) and vars(f)[name] is not ns[name]]\n"
        "print('NAMES', len(judgekit.__all__), 'BAD', bad)"
    )
    proc, _ = _modules_after(code)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0].split()
    assert first[0] == "NAMES" and int(first[1]) >= 30 and first[2:] == ["BAD", "[]"], proc.stdout


def test_import_judgekit_and_its_settings_stay_light() -> None:
    """``import judgekit`` loads no judge SDK or scipy; ``from judgekit import ScoreSettings`` reads the
    settings' own module, not ``score()``'s (which opens judges, the cache and the batch API)."""
    proc, modules = _modules_after("import judgekit")
    assert proc.returncode == 0, proc.stderr
    assert _loaded(modules, ("litellm", "aiohttp", "openai", "scipy", "nltk")) == []
    proc, modules = _modules_after("from judgekit import ScoreSettings\nassert ScoreSettings().samples == 1")
    assert proc.returncode == 0, proc.stderr
    assert "judgekit.scoring.settings" in modules
    assert _loaded(modules, ("judgekit.scoring.core", "judgekit.judges.providers", "litellm")) == []
