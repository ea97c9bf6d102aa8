"""Hugging Face Spaces entry point: `python app.py` serves SR Lab."""

from sr_demo.ui.app import build_demo, launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    demo.launch(**launch_kwargs())
