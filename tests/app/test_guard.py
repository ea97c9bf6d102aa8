"""The @guarded layer: one clear message, and in the browser every earlier output left in place."""

from __future__ import annotations

import functools
import logging

import gradio as gr
import pytest
from gradio.context import LocalContext

from sr_demo.errors import UserError
from sr_demo.ui import guard


@guard.guarded
def _fails(kind: str):
    if kind == "user":
        raise UserError("The selected models have different scales (×2, ×4).")
    if kind == "oom":
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    raise ZeroDivisionError("division by zero")


@pytest.mark.parametrize("kind, message", [("user", "The selected models have different scales (×2, ×4)."),
                                           ("oom", guard.OUT_OF_MEMORY),
                                           ("bug", "Internal error (ZeroDivisionError); it has been logged.")])
def test_direct_call_raises_one_clear_message(kind, message, caplog):
    with caplog.at_level(logging.ERROR, logger="sr_demo.ui"), pytest.raises(gr.Error) as info:
        _fails(kind)
    assert info.value.message == message
    assert ("division by zero" in caplog.text) == (kind == "bug")  # only a bug is logged with its trace


class _Request:
    def __init__(self, user: str):
        self.headers = {"x-gradio-user": user}


@pytest.fixture
def event(monkeypatch):
    """Pretend to run inside a queued event from `user`; collect the toasts."""
    toasts = []
    monkeypatch.setattr(guard.gr, "Warning", lambda message, **kw: toasts.append((message, kw)))

    def enter(user: str):
        LocalContext.request.set(_Request(user))
        LocalContext.event_id.set("evt-1")
        return toasts

    yield enter
    LocalContext.request.set(None)
    LocalContext.event_id.set(None)


def test_browser_event_keeps_outputs_and_shows_a_toast(event):
    toasts = event("app")
    assert _fails("user") == gr.skip()  # one skip leaves every output of the event as it was
    assert toasts == [("The selected models have different scales (×2, ×4).",
                       {"duration": guard.TOAST_SECONDS, "title": "Error"})]


@pytest.mark.parametrize("user", ["api", "mcp"])
def test_api_clients_get_an_error(event, user):
    toasts = event(user)
    with pytest.raises(gr.Error, match="different scales"):
        _fails("user")
    assert toasts == []


def test_unqueued_browser_event_cannot_toast_so_it_raises(event):
    toasts = event("app")
    LocalContext.event_id.set(None)
    with pytest.raises(gr.Error, match="different scales"):
        _fails("user")
    assert toasts == []


def _guarded(fn) -> bool:
    return getattr(fn.func if isinstance(fn, functools.partial) else fn, "guarded", False)


def test_every_guarded_event_of_the_app_is_queued():
    """A toast needs a queued event; an unqueued one would fall back to the red badges."""
    from sr_demo.ui.app import build_demo

    fns = [f for f in build_demo().fns.values() if f.fn is not None and _guarded(f.fn)]
    assert len(fns) >= 15  # every tab's handlers were found, not none of them
    assert [f.name for f in fns if not f.queue] == []


def test_api_client_gets_the_message_and_the_server_keeps_answering(app_url):
    gradio_client = pytest.importorskip("gradio_client")
    client = gradio_client.Client(app_url, verbose=False)
    with pytest.raises(Exception, match="Spec is not valid JSON"):
        client.predict("{not json", api_name="/apply_json")
    *controls, spec_json = client.predict("clean", 2, api_name="/apply_preset")
    assert '"scale": 2' in spec_json
