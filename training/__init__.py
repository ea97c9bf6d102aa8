"""SR Lab's training pipeline, run as modules from the repository root
(`python -m training.train NAME`), so that it imports `sr_demo` and its own
modules like any package instead of editing `sys.path`."""
