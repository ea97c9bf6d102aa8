"""The project's promises about itself: README commands, CI, pins."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    body = text.split("---", 2)[2]  # after the Spaces front matter
    block = body.split("\n# ", 1)[0]  # up to the first top-level heading
    return [line.strip() for line in block.splitlines() if line.startswith("    ")][:2]  # the indented commands


def test_readme_starts_with_front_matter_then_two_commands():
    text = (ROOT / "README.md").read_text()
    front = text.split("---", 2)[1]
    for key in ("sdk: gradio", "app_file: app.py", "sdk_version:", "python_version:"):
        assert key in front
    install, test = readme_commands()
    assert install.endswith("app.py") and "pytest" in test


def test_ci_runs_the_readme_test_command_exactly():
    assert readme_commands()[1] in (ROOT / ".ci/run").read_text()


def test_torch_is_pinned_and_requirements_match_pyproject():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps
    reqs = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip()]
    assert sorted(reqs) == sorted(deps)


def test_sdk_version_is_the_installed_gradio_major():
    import gradio

    front = (ROOT / "README.md").read_text().split("---", 2)[1]
    version = re.search(r"sdk_version: (\S+)", front).group(1)
    assert version.split(".")[0] == gradio.__version__.split(".")[0]
