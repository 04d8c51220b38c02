"""No command writes over one of its own inputs, nor two of its outputs over each other: an output path that is
an input (the same path, a symbolic link to it, a hard link of it, the same file through a linked folder) or
another output stops the command before any work, with one line and exit 2, and every file stays as it was."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_DATASET, EXAMPLE_RESPONSES, REPO, assert_clean_error, run_cli
from tests.server import ScriptedServer

BASELINE = REPO / "examples" / "ci" / "baseline.json"
OVERWRITE = "an output never overwrites an input"


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links as the bytes they reach) by its relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Inputs of every command, copied into the test's folder."""
    data = tmp_path / "in"
    data.mkdir()
    out: dict[str, Path] = {}
    for name, source in (
        ("dataset", EXAMPLE_DATASET),
        ("responses", EXAMPLE_RESPONSES),
        ("base", BASELINE),
        ("references", REPO / "examples" / "lamp_qa" / "references.json"),
    ):
        out[name] = Path(shutil.copy(source, data / f"{name}.json"))
    cand = json.loads(BASELINE.read_text())
    cand["per_question_scores"][0]["score"] = 1.0
    out["cand"] = data / "cand.json"
    out["cand"].write_text(json.dumps(cand, indent=2))
    out["judge"] = data / "judge.jsonl"
    out["judge"].write_text("".join(json.dumps({"id": f"q{k}", "score": 1 + k % 5}) + "\n" for k in range(8)))
    out["human"] = data / "human.csv"
    out["human"].write_text("id,annotator,label\n" + "".join(f"q{k},a,{1 + (k * 3) % 5}\n" for k in range(8)))
    return out


def _refused(tmp_path: Path, args: list[str], *needles: str, server: ScriptedServer | None = None) -> None:
    """The command exits 2 with one line holding ``needles``, and no file under tmp_path changed or appeared."""
    before = _snapshot(tmp_path)
    proc = run_cli(*args)
    assert_clean_error(proc, *needles)
    assert _snapshot(tmp_path) == before
    if server is not None:
        assert server.count() == 0  # refused before any judge call


def _score(files: dict[str, Path], server: ScriptedServer, *extra: str) -> list[str]:
    return [
        "score", "--judge", "openai/judge", "--api-base", server.base_url, "--no-progress",
        "--dataset", str(files["dataset"]), "--responses", str(files["responses"]), *extra,
    ]  # fmt: skip


# ---- every command, an output named as one of its inputs ----------------------------------------------


@pytest.mark.parametrize(
    ("flag", "target"),
    [("--out", "dataset"), ("--out", "responses"), ("--log", "responses"), ("--report", "dataset")],
)
def test_score_output_over_an_input(
    scripted_server: ScriptedServer, tmp_path: Path, files: dict[str, Path], flag: str, target: str
) -> None:
    extra = [flag, str(files[target])]
    if flag != "--out":
        extra += ["--out", str(tmp_path / "scores.json")]
    args = _score(files, scripted_server, *extra)
    _refused(tmp_path, args, f"{flag} {files[target]}", f"--{target}", OVERWRITE, server=scripted_server)


def test_score_default_run_log_over_an_input(
    scripted_server: ScriptedServer, tmp_path: Path, files: dict[str, Path]
) -> None:
    """--out x.json writes its run log to x.log.jsonl: an input of that name is refused as well."""
    log_named = files["responses"].with_name("scores.log.jsonl")
    shutil.copy(files["responses"], log_named)
    args = _score(files, scripted_server, "--out", str(tmp_path / "in" / "scores.json"))
    args[args.index("--responses") + 1] = str(log_named)
    _refused(tmp_path, args, "the run log", "--responses", OVERWRITE, server=scripted_server)


def test_score_cache_and_estimate_over_inputs(
    scripted_server: ScriptedServer, tmp_path: Path, files: dict[str, Path]
) -> None:
    out = str(tmp_path / "scores.json")
    cache = _score(files, scripted_server, "--out", out, "--cache", str(files["dataset"]))
    _refused(tmp_path, cache, "--cache", "--dataset", OVERWRITE, server=scripted_server)
    estimate = _score(files, scripted_server, "--dry-run", "--out-estimate", str(files["responses"]))
    _refused(tmp_path, estimate, "--out-estimate", "--responses", OVERWRITE, server=scripted_server)
    rubric = tmp_path / "in" / "rubric"
    shutil.copytree(REPO / "rubrics" / "lamp_qa", rubric)
    template = _score(files, scripted_server, "--rubric", str(rubric), "--out", str(rubric / "user.j2"))
    _refused(tmp_path, template, "--rubric", OVERWRITE, server=scripted_server)


def test_gate_outputs_over_its_inputs(tmp_path: Path, files: dict[str, Path]) -> None:
    gate = ["gate", "--candidate", str(files["cand"]), "--baseline", str(files["base"])]
    _refused(tmp_path, [*gate, "--json", str(files["base"])], "--json", "--baseline", OVERWRITE)
    _refused(tmp_path, [*gate, "--junit", str(files["cand"])], "--junit", "--candidate", OVERWRITE)
    _refused(tmp_path, [*gate, "--summary", str(files["base"])], "--summary", "--baseline", OVERWRITE)
    _refused(tmp_path, [*gate, "--report", str(files["cand"])], "--report", "--candidate", OVERWRITE)
    plan = [
        "gate",
        "--plan",
        "--drop",
        "0.05",
        "--baseline",
        str(files["base"]),
        "--json",
        str(files["base"]),
    ]
    _refused(tmp_path, plan, "--json", "--baseline", OVERWRITE)


def test_compare_and_report_outputs_over_their_inputs(tmp_path: Path, files: dict[str, Path]) -> None:
    a, b = str(files["base"]), str(files["cand"])
    _refused(tmp_path, ["compare", a, b, "--out", b], f"--out {b} would overwrite input 2", OVERWRITE)
    _refused(tmp_path, ["report", a, "--out", a], f"--out {a} would overwrite input 1", OVERWRITE)


def test_report_over_a_file_it_reads_beside_an_input(tmp_path: Path, files: dict[str, Path]) -> None:
    """report reads the run log beside a score file (base.log.jsonl for base.json): --out cannot be it."""
    log = files["base"].with_name("base.log.jsonl")
    log.write_text(json.dumps({"type": "call", "id": "lqa-001", "completion": "{}"}) + "\n")
    _refused(
        tmp_path, ["report", str(files["base"]), "--out", str(log)], "a file read for input 1", OVERWRITE
    )


def test_lexical_validate_probe_outputs_over_their_inputs(
    scripted_server: ScriptedServer, tmp_path: Path, files: dict[str, Path]
) -> None:
    p, r = str(files["responses"]), str(files["references"])
    _refused(
        tmp_path, ["lexical", "--predictions", p, "--references", r, "--out", p], "--predictions", OVERWRITE
    )
    judge, human = str(files["judge"]), str(files["human"])
    validate = ["validate", "--judge", judge, "--human", human, "--n-boot", "0"]
    _refused(tmp_path, [*validate, "--out", human], "--out", "--human", OVERWRITE)
    probe = [
        "probe", "--judge", "openai/judge", "--api-base", scripted_server.base_url,
        "--dataset", str(files["dataset"]), "--responses", p,
    ]  # fmt: skip
    _refused(tmp_path, [*probe, "--out", p], "--out", "--responses", OVERWRITE, server=scripted_server)
    _refused(tmp_path, [*probe, "--cache", str(files["dataset"])], "--cache", "--dataset", OVERWRITE)


# ---- the same file under another name ------------------------------------------------------------------


def _symlink(tmp_path: Path, target: Path) -> Path:
    link = tmp_path / "link.json"
    link.symlink_to(target)
    return link


def _hardlink(tmp_path: Path, target: Path) -> Path:
    link = tmp_path / "hard.json"
    os.link(target, link)
    return link


def _linked_folder(tmp_path: Path, target: Path) -> Path:
    folder = tmp_path / "alias"
    folder.symlink_to(target.parent, target_is_directory=True)
    return folder / target.name


def _dotted(tmp_path: Path, target: Path) -> Path:
    return target.parent / ".." / target.parent.name / target.name


@pytest.mark.parametrize("alias", [_symlink, _hardlink, _linked_folder, _dotted])
def test_an_input_under_another_name_is_still_refused(
    tmp_path: Path, files: dict[str, Path], alias: Callable[[Path, Path], Path]
) -> None:
    """gate --json through a symbolic link, a hard link, a linked folder or a path with '..' to the baseline."""
    out = alias(tmp_path, files["base"])
    assert out.exists() and str(out) != str(files["base"])
    gate = ["gate", "--candidate", str(files["cand"]), "--baseline", str(files["base"])]
    _refused(tmp_path, [*gate, "--json", str(out)], f"--json {out}", "--baseline", OVERWRITE)
    assert json.loads(files["base"].read_bytes()) == json.loads(BASELINE.read_bytes())


def test_two_outputs_that_are_one_file(
    scripted_server: ScriptedServer, tmp_path: Path, files: dict[str, Path]
) -> None:
    """Outputs that do not exist yet are compared by their resolved paths."""
    out = tmp_path / "scores.json"
    same = _score(
        files, scripted_server, "--out", str(out), "--log", str(tmp_path / "sub" / ".." / "scores.json")
    )
    _refused(tmp_path, same, "--log and --out must name different files", server=scripted_server)
    gate = ["gate", "--candidate", str(files["cand"]), "--baseline", str(files["base"])]
    result = tmp_path / "result.json"
    _refused(tmp_path, [*gate, "--json", str(result), "--junit", str(result)], "--json and --junit")
    (tmp_path / "outs").mkdir()
    (tmp_path / "here").symlink_to(tmp_path / "outs", target_is_directory=True)
    linked = [
        *gate,
        "--json",
        str(tmp_path / "outs" / "r.json"),
        "--summary",
        str(tmp_path / "here" / "r.json"),
    ]
    _refused(tmp_path, linked, "--json and --summary must name different files")
    assert not result.exists()


def test_distinct_outputs_still_run(tmp_path: Path, files: dict[str, Path]) -> None:
    """The check refuses only real clashes: the same command with its own output file writes it."""
    out = tmp_path / "compare.json"
    proc = run_cli("compare", str(files["base"]), str(files["cand"]), "--out", str(out), "--bootstrap", "0")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["judgekit_compare"] == 1
    assert files["base"].read_bytes() == BASELINE.read_bytes()


# ---- the library refuses the same ------------------------------------------------------------------------


def test_library_score_and_report_refuse_to_overwrite_an_input(
    scripted_server: ScriptedServer, tmp_path: Path, files: dict[str, Path]
) -> None:
    from judgekit import score
    from judgekit.errors import ConfigError
    from judgekit.judges.factory import JudgeOptions
    from judgekit.report import write_report
    from judgekit.scoring.settings import ScoreSettings

    before = _snapshot(tmp_path)
    settings = ScoreSettings(judge=JudgeOptions(api_base=scripted_server.base_url))
    with pytest.raises(ConfigError, match=r"out .* would overwrite dataset"):
        score(
            files["dataset"],
            files["responses"],
            judge="openai/judge",
            settings=settings,
            out=files["dataset"],
        )
    with pytest.raises(ConfigError, match=r"the report .* would overwrite input 1"):
        write_report([files["base"]], files["base"])
    assert _snapshot(tmp_path) == before
    assert scripted_server.count() == 0
