"""A local LLM judge that needs no API key: llama.cpp's OpenAI-compatible server on 127.0.0.1.

- ``model``: the ``--judge local[:PATH]`` spec, the default Gemma 3 270M GGUF (assembled from its PyPI
  package) and the GGUF check;
- ``server``: :class:`LocalServer`, the server process for one run (``command``: its command line and
  environment; ``probe``: readiness; ``process``: launching and stopping a child; ``logtail``: its log);
- ``watch``: :class:`WatchedJudge`, which turns a dead server into :class:`~judgekit.judges.base.JudgeDown`;
- ``formats``: the ``response_format`` that constrains its output to a JSON schema.

Neither litellm nor llama_cpp is imported by this package.
"""

from judgekit.judges.local.command import (
    DEFAULT_ALIAS,
    DEFAULT_CHAT_FORMAT,
    DEFAULT_N_CTX,
    SERVER_CMD_ENV,
    default_threads,
)
from judgekit.judges.local.formats import local_response_format, openai_response_format
from judgekit.judges.local.model import (
    INSTALL_HINT,
    check_gguf,
    default_model_path,
    default_model_target,
    is_local_spec,
    models_dir,
    parse_local_spec,
)
from judgekit.judges.local.process import describe_exit
from judgekit.judges.local.server import LocalServer
from judgekit.judges.local.watch import WatchedJudge

__all__ = [
    "DEFAULT_ALIAS",
    "DEFAULT_CHAT_FORMAT",
    "DEFAULT_N_CTX",
    "INSTALL_HINT",
    "SERVER_CMD_ENV",
    "LocalServer",
    "WatchedJudge",
    "check_gguf",
    "default_model_path",
    "default_model_target",
    "default_threads",
    "describe_exit",
    "is_local_spec",
    "local_response_format",
    "models_dir",
    "openai_response_format",
    "parse_local_spec",
]
