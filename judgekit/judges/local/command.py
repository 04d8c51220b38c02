"""How the llama.cpp server is started: its defaults, the program to run, its threads and its environment."""

from __future__ import annotations

import os
import re
import shlex
from importlib.util import find_spec

from judgekit.errors import JudgeError

DEFAULT_ALIAS = "local-gemma"
DEFAULT_CHAT_FORMAT = "gemma"
# Judge prompts run to ~2-3k tokens; 8192 leaves room for long responses and the verdict. The KV cache
# of Gemma 3 270M at 8192 tokens is ~150 MB, so the larger window costs little.
DEFAULT_N_CTX = 8192
DEFAULT_STARTUP_TIMEOUT = 180.0
# A different server command instead of ``python -m llama_cpp.server`` (see :class:`LocalServer`).
SERVER_CMD_ENV = "JUDGEKIT_LOCAL_SERVER_CMD"

# llama-cpp-python's server reads its settings from environment variables of the same name (pydantic
# BaseSettings without a prefix), and uvicorn.run() lets $HOST and $PORT override the command line. A
# stray API_KEY, PORT, MODEL or CONFIG_FILE in the user's environment would silently change the server,
# so these are removed from the child's environment.
# fmt: off
_SERVER_ENV_KEYS = frozenset((
    "api_key", "cache", "cache_size", "cache_type", "chat_format", "chat_template_kwargs",
    "clip_model_path", "config_file", "disable_ping_events", "draft_model", "draft_model_num_pred_tokens",
    "embedding", "flash_attn", "hf_model_repo_id", "hf_pretrained_model_name_or_path",
    "hf_tokenizer_config_path", "host", "interrupt_requests", "kv_overrides", "last_n_tokens_size",
    "logits_all", "lora_base", "lora_path", "main_gpu", "model", "model_alias", "models", "mul_mat_q",
    "n_batch", "n_ctx", "n_gpu_layers", "n_threads", "n_threads_batch", "n_ubatch", "numa", "offload_kqv",
    "port", "root_path", "rope_freq_base", "rope_freq_scale", "rope_scaling_type", "rpc_servers", "seed",
    "split_mode", "ssl_certfile", "ssl_keyfile", "tensor_split", "type_k", "type_v", "use_mlock",
    "use_mmap", "verbose", "vocab_only", "yarn_attn_factor", "yarn_beta_fast", "yarn_beta_slow",
    "yarn_ext_factor", "yarn_orig_ctx",
))
# fmt: on


def default_threads() -> int:
    """All usable CPU cores but one (at least 1): leaves a core for judgekit itself and the OS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def alias_for(stem: str) -> str:
    """The model name a server for the GGUF file ``stem`` answers to: ``local-<stem as a slug>``."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")
    return f"local-{slug or 'model'}"


def llama_cpp_available() -> bool:
    """Whether this interpreter can run ``python -m llama_cpp.server``."""
    try:
        return find_spec("llama_cpp") is not None and find_spec("llama_cpp.server") is not None
    except (ImportError, ValueError):
        return False


def env_server_command() -> list[str] | None:
    """The server program from ``$JUDGEKIT_LOCAL_SERVER_CMD`` (split like a shell does), if set."""
    raw = os.environ.get(SERVER_CMD_ENV, "").strip()
    if not raw:
        return None
    try:
        return shlex.split(raw)
    except ValueError as err:
        raise JudgeError(f"${SERVER_CMD_ENV} is not a valid command line ({err}): {raw!r}") from None


def server_env() -> dict[str, str]:
    """This process's environment without the variables llama-cpp-python's server would read as settings."""
    env = {key: value for key, value in os.environ.items() if key.lower() not in _SERVER_ENV_KEYS}
    env["PYTHONUNBUFFERED"] = "1"
    return env
