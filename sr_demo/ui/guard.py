"""The one hostile-input layer every UI handler goes through.

`UserError` becomes a `gr.Error` with its message; out-of-memory becomes an
actionable message; anything else is logged with its traceback and shown as
an internal error, so no input can take the server down or leak a trace.
"""

from __future__ import annotations

import functools
import logging

import gradio as gr

from sr_demo.errors import UserError

log = logging.getLogger("sr_demo.ui")


def guarded(fn):
    """Wrap a Gradio handler so every failure reaches the user as one clear message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except UserError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except MemoryError:
            raise gr.Error("Out of memory: try a smaller image or a smaller tile size.", print_exception=False) from None
        except Exception as exc:  # noqa: BLE001 - the server must survive any input
            if "out of memory" in str(exc).lower():
                raise gr.Error("Out of memory: try a smaller image or a smaller tile size.",
                               print_exception=False) from None
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error(f"Internal error ({type(exc).__name__}); it has been logged.", print_exception=False) from None

    return wrapper


def gradio_progress(progress: gr.Progress):
    """Adapt `gr.Progress` to the (fraction, text) callbacks of the Python API."""

    def update(fraction: float, text: str) -> None:
        progress(fraction, desc=text)

    return update


def as_seed(value) -> int:
    """A seed from a form field or an API call: a whole number, or a clear message (range checked downstream)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"The seed must be a whole number from 0, got {value!r}.") from None
    if not number.is_integer():
        raise UserError(f"The seed must be a whole number from 0, got {value!r}.")
    return int(number)
