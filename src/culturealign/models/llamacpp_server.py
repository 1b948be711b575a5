"""A real llama.cpp server on loopback (``python -m llama_cpp.server``), for tests and benchmarks.

The OpenAI-compatible backend (:mod:`culturealign.models.openai_http`) is tested and measured
against it: started and stopped by the caller, killable like a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class LlamaServer:
    """A ``python -m llama_cpp.server`` subprocess on loopback (tests and benchmarks).

    ``logits_all`` is on so that ``echo`` + ``logprobs`` work; ``n_ctx`` bounds its logits
    buffer (``n_ctx x vocabulary`` floats: 1 GB for gemma-3's 262k vocabulary at 1024).
    """

    def __init__(
        self,
        gguf: str | Path,
        alias: str,
        threads: int = 1,
        n_ctx: int = 1024,
        api_key: str | None = None,
        port: int | None = None,
        log: Path | None = None,
    ) -> None:
        self.gguf, self.alias, self.threads, self.n_ctx = Path(gguf), alias, threads, n_ctx
        self.api_key = api_key
        self.port = port or free_port()
        self.log = log
        self.proc: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> LlamaServer:
        import subprocess
        import sys
        import time
        import urllib.request

        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf)]
        cmd += ["--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--n_ctx", str(self.n_ctx), "--n_threads", str(self.threads)]
        cmd += ["--n_threads_batch", str(self.threads), "--logits_all", "true"]
        if self.api_key:
            cmd += ["--api_key", self.api_key]
        out = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}")
            try:
                req = urllib.request.Request(self.base_url + "/models", headers=headers)
                with urllib.request.urlopen(req, timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except Exception:  # noqa: BLE001 - a server that ignores SIGTERM gets SIGKILL
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would (no graceful shutdown)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
