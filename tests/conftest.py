from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

# ==============================================================================================
# BEGIN scripted judge server fixtures (owner: tests/server.py) -- keep this block at the top.
# ==============================================================================================
from tests.server import ScriptedServer, ServerProcess


@pytest.fixture
def scripted_server() -> Iterator[ScriptedServer]:
    """A fresh scripted OpenAI-compatible server on 127.0.0.1 (no latency, default responder)."""
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def make_server() -> Iterator[Callable[..., ScriptedServer]]:
    """Factory: ``make_server(latency=0.2, max_in_flight=4, ...)`` -> a started server, stopped after the test."""
    servers: list[ScriptedServer] = []

    def factory(**kwargs: Any) -> ScriptedServer:
        server = ScriptedServer(**kwargs)
        server.start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def make_server_process() -> Iterator[Callable[..., ServerProcess]]:
    """Factory: the server as a subprocess (``python -m tests.server``); terminated after the test."""
    procs: list[ServerProcess] = []

    def factory(**kwargs: Any) -> ServerProcess:
        proc = ServerProcess(**kwargs)
        procs.append(proc)
        return proc.start()

    yield factory
    for proc in procs:
        proc.stop()


# ==============================================================================================
# END scripted judge server fixtures
# ==============================================================================================


# ==============================================================================================
# Shared helpers for judgekit tests
# ==============================================================================================
import compileall  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from tests import forked_cli  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

# Bytecode is cached even under PYTHONDONTWRITEBYTECODE: without it every worker re-rewrites the asserts
# of every test module, and every judgekit process the suite starts compiles judgekit again.
sys.dont_write_bytecode = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``runs_first`` go to the front (the same order in every xdist worker)."""
    items.sort(key=lambda item: item.get_closest_marker("runs_first") is None)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has done this
    compileall.compile_dir(REPO / "judgekit", quiet=1)
    if forked_cli.enabled(os.environ) and not os.environ.get(forked_cli.SERVER_ENV):
        _, path = forked_cli.start_server()
        os.environ[forked_cli.SERVER_ENV] = path  # the workers, started after this, inherit it


EXAMPLE_DATASET = REPO / "examples" / "lamp_qa" / "dataset.json"
EXAMPLE_RESPONSES = REPO / "examples" / "lamp_qa" / "responses.json"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's real cache of completions; the local model (253 MB, assembled
    once) stays where setup put it, so tests share it instead of assembling it again."""
    if not os.environ.get("JUDGEKIT_MODEL_DIR"):
        from judgekit.judges.local import models_dir

        monkeypatch.setenv("JUDGEKIT_MODEL_DIR", str(models_dir()))
    monkeypatch.setenv("JUDGEKIT_CACHE_DIR", str(tmp_path_factory.mktemp("jk-cache")))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m judgekit ARGS`` as a user would, in a subprocess."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    return forked_cli.completed([sys.executable, "-m", "judgekit", *args], env=full_env, timeout=timeout)


def assert_clean_error(proc: subprocess.CompletedProcess[str], *needles: str, code: int = 2) -> None:
    """A bad input: the given exit code, one error line on stderr naming the problem, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("judgekit: error:")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
