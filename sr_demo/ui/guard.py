"""The one hostile-input layer every UI handler goes through.

`UserError` becomes its own message; out-of-memory becomes an actionable
message; anything else is logged with its traceback and shown as an internal
error, so no input can take the server down or leak a trace.

How the message reaches the user depends on who called. Gradio's browser
front end (it sends `x-gradio-user: app`) marks every output of a failed event
with a red "Error" badge over what was shown, so there the handler does not
fail: it shows the message as a toast and returns `gr.skip()`, which leaves
every output as it was. API clients (gradio_client sends `x-gradio-user: api`)
and direct Python calls get a `gr.Error` carrying the same message. Events of
guarded handlers are queued (tests/app/test_guard.py checks): a toast needs one.
"""

from __future__ import annotations

import functools
import logging

import gradio as gr

from sr_demo.errors import UserError

log = logging.getLogger("sr_demo.ui")
OUT_OF_MEMORY = "Out of memory: try a smaller image or a smaller tile size."
#: Seconds the browser toast stays up: long enough to read a two-line message.
TOAST_SECONDS = 20


def user_message(exc: BaseException, where: str) -> str:
    """The one line a user sees for `exc` (logged with its traceback when it is not theirs to fix)."""
    if isinstance(exc, gr.Error):
        return str(exc.message)
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return OUT_OF_MEMORY
    log.error("handler %s failed", where, exc_info=exc)
    return f"Internal error ({type(exc).__name__}); it has been logged."


def toast_possible() -> bool:
    """Is the running event a queued one from Gradio's own front end (not gradio_client, MCP, a direct call)?

    Only a queued event can carry a toast: for a `queue=False` event `gr.Warning` reaches the server log only.
    """
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    headers = getattr(request, "headers", None) or {}
    return headers.get("x-gradio-user") == "app" and LocalContext.event_id.get(None) is not None


def guarded(fn):
    """Wrap a Gradio handler so every failure reaches the user as one clear message, outputs kept."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the server must survive any input
            message = user_message(exc, fn.__name__)
        if toast_possible():
            gr.Warning(message, duration=TOAST_SECONDS, title="Error")
            return gr.skip()
        raise gr.Error(message, print_exception=False)

    wrapper.guarded = True  # lets tests/app/test_guard.py find every guarded event
    return wrapper


def gradio_progress(progress: gr.Progress):
    """Adapt `gr.Progress` to the (fraction, text) callbacks of the Python API."""

    def update(fraction: float, text: str) -> None:
        progress(fraction, desc=text)

    return update


def as_whole_number(value, what: str, rule: str = "a whole number") -> int:
    """An int from a form field or an API call (sliders send floats, clients send anything), or a clear message."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be {rule}, got {value!r}.") from None
    if not number.is_integer():
        raise UserError(f"{what} must be {rule}, got {value!r}.")
    return int(number)


def as_seed(value) -> int:
    """A seed: a whole number from 0 (its range is checked downstream)."""
    return as_whole_number(value, "The seed", "a whole number from 0")
