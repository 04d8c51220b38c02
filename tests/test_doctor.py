"""``judgekit doctor``: one line per check, exit 1 when one fails, and a real local judge behind it."""

from __future__ import annotations

import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from judgekit.doctor import build_features
from judgekit.judges.base import Completion
from judgekit.run.cache import Cache
from tests.conftest import REPO, run_cli
from tests.test_local_judge import require_local

FAKE = Path(__file__).with_name("fake_llama_server.py")
CHECKS = ["python", "packages", "cpu", "llama.cpp build", "local model", "local judge", "wordnet", "cache"]
LINE = re.compile(r"^(ok  |warn|FAIL|skip) ([a-z. ]+): \S")


def _check_lines(stdout: str) -> dict[str, str]:
    """{check name: its whole line}, asserting every check line has the documented shape."""
    found: dict[str, str] = {}
    for line in stdout.splitlines():
        match = LINE.match(line)
        if match:
            found[match.group(2)] = line
    return found


def test_help_teaches_and_imports_no_litellm() -> None:
    proc = run_cli("doctor", "--help")
    assert proc.returncode == 0, proc.stderr
    for needle in ("--skip-local", "--model", "llama.cpp build", "SIGILL", "exit codes", "1 a check failed"):
        assert needle in proc.stdout, needle
    assert "doctor" in run_cli("--help").stdout
    probe = (
        "import sys\nfrom judgekit.cli.main import main\n"
        "try:\n    main(['doctor', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('LITELLM', 'litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert "LITELLM False" in out.stdout


def test_skip_local_one_line_per_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "jk"
    monkeypatch.setenv("JUDGEKIT_CACHE_DIR", str(cache_dir))
    cache = Cache(cache_dir / "cache.sqlite")
    for i in range(3):
        cache.put(f"key{i}", "judge", Completion(text='{"match_score": 1}'))
    cache.close()

    proc = run_cli("doctor", "--skip-local", timeout=180)
    lines = _check_lines(proc.stdout)
    assert list(lines) == CHECKS, proc.stdout
    assert "Traceback" not in proc.stderr
    failed = [line for line in lines.values() if line.startswith("FAIL")]
    assert proc.returncode == (1 if failed else 0), proc.stdout
    assert lines["python"].startswith(f"ok   python: {platform.python_version()} ")
    assert lines["local judge"] == "skip local judge: skipped (--skip-local)"
    assert lines["cache"].startswith(f"ok   cache: {cache_dir / 'cache.sqlite'}, 3 entries, ")
    assert re.search(r"pydantic \d", lines["packages"])
    if platform.machine() == "x86_64":
        assert re.search(r"avx2 (yes|no), fma (yes|no), avx512f (yes|no), amx (yes|no)", lines["cpu"])


def test_missing_model_fails(tmp_path: Path) -> None:
    proc = run_cli("doctor", "--skip-local", "--model", str(tmp_path / "nope.gguf"), timeout=180)
    assert proc.returncode == 1, proc.stdout
    line = _check_lines(proc.stdout)["local model"]
    assert line == f"FAIL local model: local model not found: {tmp_path / 'nope.gguf'}"
    assert proc.stdout.rstrip().endswith("1 check(s) failed: local model")


def test_unwritable_model_dir_fails(tmp_path: Path) -> None:
    require_local()  # the default model's package says what to assemble
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run_cli("doctor", "--skip-local", env={"JUDGEKIT_MODEL_DIR": str(blocker / "models")}, timeout=180)
    assert proc.returncode == 1, proc.stdout
    line = _check_lines(proc.stdout)["local model"]
    assert line.startswith(f"FAIL local model: {blocker / 'models'}/")
    assert "cannot be written" in line and "JUDGEKIT_MODEL_DIR" in line


def test_unwritable_cache_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run_cli("doctor", "--skip-local", env={"JUDGEKIT_CACHE_DIR": str(blocker / "jk")}, timeout=180)
    assert proc.returncode == 1, proc.stdout
    assert _check_lines(proc.stdout)["cache"].startswith(
        f"FAIL cache: {blocker / 'jk' / 'cache.sqlite'} cannot"
    )


def test_local_judge_that_dies_with_sigill_fails(tmp_path: Path) -> None:
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    env = {"JUDGEKIT_LOCAL_SERVER_CMD": shlex.join([sys.executable, str(FAKE), "--answers", "0"])}
    proc = run_cli("doctor", "--model", str(model), env=env, timeout=180)
    assert proc.returncode == 1, proc.stdout
    line = _check_lines(proc.stdout)["local judge"]
    assert line.startswith(
        "FAIL local judge: the local judge server died: killed by SIGILL (illegal instruction)"
    )
    assert "Traceback" not in proc.stdout + proc.stderr


def test_local_judge_check_through_a_working_server(tmp_path: Path) -> None:
    model = tmp_path / "fake.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    env = {"JUDGEKIT_LOCAL_SERVER_CMD": shlex.join([sys.executable, str(FAKE)])}
    proc = run_cli("doctor", "--model", str(model), env=env, timeout=180)
    line = _check_lines(proc.stdout)["local judge"]
    assert re.match(
        r'ok   local judge: started in \d+\.\d s, answered a constrained call in \d+\.\d s \(\{"match_score": [012]\}\)$',
        line,
    ), line


def test_build_features_are_read_from_llama_cpp_system_info() -> None:
    info = (
        "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 0 | "
        "AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
    )
    assert build_features(info) == ["SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "AMX_INT8"]


@pytest.mark.integration
def test_doctor_starts_the_real_local_judge() -> None:
    require_local()
    proc = run_cli("doctor", timeout=600)
    lines = _check_lines(proc.stdout)
    assert list(lines) == CHECKS, proc.stdout
    assert re.match(
        r"ok   local judge: started in [\d.]+ s, answered a constrained call in [\d.]+ s",
        lines["local judge"],
    )
    assert lines["llama.cpp build"].startswith("ok   llama.cpp build: llama-cpp-python ")
    assert proc.returncode == 0, proc.stdout
