"""Output paths are checked before any work (no judge call for an unwritable --out), with one clear line;
written files get the usual permissions (the umask's, not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import assert_clean_error, run_cli
from tests.proc_tools import cli_env, score_cmd, write_inputs
from tests.server import ScriptedServer


def _score(
    server: ScriptedServer, tmp_path: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    dataset, responses = write_inputs(tmp_path, 2)
    return run_cli(*score_cmd(dataset, responses, server.base_url, out, *extra)[3:])


@pytest.fixture
def afile(tmp_path: Path) -> Path:
    path = tmp_path / "afile"
    path.write_text("I am a file\n")
    return path


def test_out_under_a_file_is_refused_before_any_judge_call(
    scripted_server: ScriptedServer, tmp_path: Path, afile: Path
) -> None:
    proc = _score(scripted_server, tmp_path, afile / "out.json")
    assert_clean_error(proc, "--out", f"{afile} is a file, not a directory")
    assert "File exists" not in proc.stderr
    assert scripted_server.count() == 0
    deeper = _score(scripted_server, tmp_path, afile / "sub" / "out.json")
    assert_clean_error(deeper, f"{afile} is a file, not a directory")
    assert scripted_server.count() == 0
    assert afile.read_text() == "I am a file\n"


def test_out_that_is_a_directory(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    proc = _score(scripted_server, tmp_path, folder)
    assert_clean_error(proc, f"--out {folder}: is a directory")
    assert scripted_server.count() == 0


def test_log_path_is_checked_too(scripted_server: ScriptedServer, tmp_path: Path, afile: Path) -> None:
    out = tmp_path / "scores.json"
    proc = _score(scripted_server, tmp_path, out, "--log", str(afile / "run.log.jsonl"))
    assert_clean_error(proc, "--log", f"{afile} is a file, not a directory")
    (tmp_path / "scores.log.jsonl").mkdir()  # where the default run log would go
    proc = _score(scripted_server, tmp_path, out)
    assert_clean_error(proc, "run log", "is a directory")
    assert scripted_server.count() == 0
    assert not out.exists()


def test_unwritable_folder_is_found_by_trying(scripted_server: ScriptedServer, tmp_path: Path) -> None:
    """Permission bits say nothing to root: sysfs refuses new files even to root."""
    if not Path("/sys/kernel").is_dir():
        pytest.skip("needs a mounted /sys")
    proc = _score(scripted_server, tmp_path, Path("/sys/judgekit-out.json"))
    assert_clean_error(proc, "--out /sys/judgekit-out.json: cannot write in /sys")
    assert scripted_server.count() == 0


def test_every_command_checks_its_outputs_first(tmp_path: Path, afile: Path) -> None:
    """The inputs do not exist: the output error coming first shows the check runs before any reading."""
    missing = str(tmp_path / "missing.json")
    target = str(afile / "x.out")
    lexical = run_cli("lexical", "--predictions", missing, "--references", missing, "--out", target)
    assert_clean_error(lexical, "--out", "is a file, not a directory")
    validate = run_cli("validate", "--judge", missing, "--human", missing, "--out", target)
    assert_clean_error(validate, "--out", "is a file, not a directory")
    for flag in ("--junit", "--summary", "--json"):
        gate = run_cli("gate", "--candidate", missing, "--baseline", missing, flag, target)
        assert_clean_error(gate, flag, "is a file, not a directory")
    folder = tmp_path / "folder"
    folder.mkdir()
    lexical = run_cli("lexical", "--predictions", missing, "--references", missing, "--out", str(folder))
    assert_clean_error(lexical, "--out", "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_written_files_follow_the_umask(
    scripted_server: ScriptedServer, tmp_path: Path, umask: int, mode: int
) -> None:
    dataset, responses = write_inputs(tmp_path, 2)
    out = tmp_path / "scores.json"
    proc = subprocess.run(
        score_cmd(dataset, responses, scripted_server.base_url, out, "--cache", str(tmp_path / "c.sqlite")),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        umask=umask,
    )
    assert proc.returncode == 0, proc.stderr
    for path in (out, tmp_path / "scores.log.jsonl"):
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, (path, oct(os.stat(path).st_mode))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers
