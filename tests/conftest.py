"""Shared fixtures: one launched app per test session, example paths."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# training/ holds scripts, not a package: tests import them by name (`import recipes`), as they import each other
sys.path.insert(0, str(ROOT / "training"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """SR Lab launched in this process on a free loopback port."""
    from sr_demo.ui.app import build_demo, launch_kwargs

    demo = build_demo()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_kwargs())
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture
def chelsea_path() -> str:
    return str(EXAMPLES / "chelsea.png")
