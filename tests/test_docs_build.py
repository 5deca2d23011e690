"""The lessons website's build is strict: a tiny repository built with the real configuration (mkdocs.yml,
docs/site/) succeeds, and fails once a broken link, a missing image (in Markdown and inside a lesson) or an
unresolved API reference is put in. `make docs` builds the real site the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocs_jupyter", reason="the docs extra is not installed: pip install -e '.[docs]'")
Image = pytest.importorskip("PIL.Image")

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _notebook(markdown: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": markdown},
             {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "print(1)",
              "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]}]
    kernel = {"name": "python3", "language": "python", "display_name": "Python 3"}
    return json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernel}})


def _tiny_repository(root: Path, api_module: str = "gcnn_edu.errors") -> Path:
    """README, a docs page, one lesson, one student notebook, two pictures; the real mkdocs.yml with a tiny nav."""
    (root / "docs").mkdir(parents=True)
    (root / "figures").mkdir()
    (root / "notebooks" / "student").mkdir(parents=True)
    Image.new("RGB", (8, 8), "red").save(root / "figures" / "f.png")
    Image.new("P", (8, 8)).save(root / "figures" / "g.gif")
    (root / "README.md").write_text("# tiny\n\n![a figure](figures/f.png)\n\nSee [the conventions](docs/conventions.md)"
                                    " and [lesson 1](notebooks/01_tiny.ipynb).\n")
    (root / "docs" / "conventions.md").write_text("# Conventions\n\nThe action $[L_g f](x) = f(g^{-1} x)$.\n")
    lesson = _notebook("# Lesson 1: tiny\n\nSee [the conventions](../docs/conventions.md).\n\n"
                       "![an animation](../figures/g.gif)\n\n$$L_g f$$\n")
    (root / "notebooks" / "01_tiny.ipynb").write_text(lesson)
    (root / "notebooks" / "student" / "01_tiny.ipynb").write_text(lesson)

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    config["theme"]["custom_dir"] = str(REPO / "docs" / "site" / "overrides")
    config["hooks"] = [str(REPO / "docs" / "site" / "hooks.py")]
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            python = plugin["mkdocstrings"]["handlers"]["python"]
            python["paths"] = [str(REPO)]
            python["options"]["extensions"] = [
                f"{REPO / 'docs' / 'site' / 'griffe_docstrings.py'}:PlainDocstrings"]
    config["nav"] = [{"Home": "index.md"}, {"Lessons": [{"1. Tiny": "notebooks/01_tiny.ipynb"}]},
                     {"Downloads": "downloads.md"}, {"Conventions": "docs/conventions.md"},
                     {"Notation": "docs/notation.md"},  # optional, absent here: left out of the nav
                     {"API reference": [{api_module: f"api/{api_module}.md"}]}]
    (root / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def _build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "docs" / "site" / "build.py"), "--repo", str(root)],
                          capture_output=True, text=True, timeout=300)


def test_tiny_site_builds(tmp_path):
    root = _tiny_repository(tmp_path)
    result = _build(root)
    assert result.returncode == 0, result.stderr[-3000:]
    site = root / "site"
    lesson = (site / "notebooks" / "01_tiny.html").read_text()
    assert 'href="../docs/conventions.html"' in lesson, "a lesson's link to a docs page must point at the page"
    assert "../assets/mathjax/tex-svg-full.js" in lesson and (site / "assets" / "mathjax" / "tex-svg-full.js").is_file()
    assert (site / "notebooks" / "01_tiny.ipynb").is_file(), "the lesson's notebook is offered next to its page"
    assert 'href="notebooks/student/01_tiny.ipynb"' in (site / "downloads.html").read_text()
    assert (site / "notebooks" / "student" / "01_tiny.ipynb").is_file()
    assert 'href="notebooks/01_tiny.html"' in (site / "index.html").read_text()
    assert "notation" not in (site / "index.html").read_text().lower()
    assert "gcnn_edu.errors" in (site / "api" / "gcnn_edu.errors.html").read_text()


def test_broken_links_missing_images_and_unresolved_references_fail_the_build(tmp_path):
    root = _tiny_repository(tmp_path)
    with (root / "README.md").open("a") as readme:
        readme.write("\n[gone](docs/gone.md)\n\n![missing](figures/missing.png)\n")
    with (root / "docs" / "conventions.md").open("a") as page:
        page.write("\nSee [the layer][gcnn_edu.nn.NoSuchLayer].\n")
    lesson = root / "notebooks" / "01_tiny.ipynb"
    lesson.write_text(_notebook("# Lesson 1: tiny\n\n![gone](../figures/vanished.gif)\n"))
    result = _build(root)
    assert result.returncode != 0
    log = result.stdout + result.stderr
    assert "Aborted" in log and "strict mode" in log
    for problem in ("docs/gone.md", "figures/missing.png", "figures/vanished.gif", "gcnn_edu.nn.NoSuchLayer"):
        assert problem in log, f"the build did not report {problem}:\n{log[-3000:]}"


def test_an_api_page_of_a_module_that_does_not_exist_fails_the_build(tmp_path):
    root = _tiny_repository(tmp_path, api_module="gcnn_edu.no_such_module")
    result = _build(root)
    assert result.returncode != 0
    assert "gcnn_edu.no_such_module" in result.stdout + result.stderr
