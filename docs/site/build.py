"""Build the lessons website: stage the repository into a folder that mirrors it, then `mkdocs build --strict`.

    python docs/site/build.py                 # what `make docs` runs: site/ from this checkout
    python docs/site/build.py --stage-only    # only the staged sources (build/site-src)

The staged folder has the repository's own layout, so every relative link in the README, the docs pages and
the lessons resolves on the site exactly as it does on disk:

    index.md                   README.md (the home page)
    docs/*.md                  the docs pages (conventions, notation, pitfalls, this site's note)
    notebooks/0*.ipynb         the lessons, rendered with their stored outputs (never executed here)
    notebooks/student/*.ipynb  the student notebooks, copied for download, whatever exists
    figures/**/*.png|gif|json  the pictures (and results files) the README and the lessons show
    downloads.md               generated: a table of the notebooks to download
    api/<module>.md            generated: `::: <module>` for each "API reference" entry of mkdocs.yml

The build is strict: a broken link, a missing image or an unresolved API reference fails it (hooks.py checks
the links inside rendered notebooks too, which MkDocs itself does not see).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
FIGURE_FILES = ("*.png", "*.gif", "*.svg", "*.jpg", "*.json")  # pictures, and the results files beside them


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _api_modules(config: Path) -> list[str]:
    """The modules of the "API reference" section of the nav: entry `api/<module>.md` documents <module>."""
    nav = yaml.safe_load(config.read_text())["nav"]
    for section in nav:
        if "API reference" in section:
            return [Path(next(iter(entry.values()))).stem for entry in section["API reference"]]
    raise SystemExit(f"{config}: the nav has no 'API reference' section; add one listing api/<module>.md pages")


def _notebook_title(path: Path) -> str:
    """The first level-1 heading of a notebook, or its file name."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def _downloads_page(lessons: list[Path], students: list[Path]) -> str:
    lines = ["# Downloads", "",
             "Every lesson comes twice. The **student notebook** leaves each exercise that asks for code as a gap "
             "(a stub that raises `NotImplementedError` with a hint), followed by a cell that checks your answer "
             "against `gcnn_edu`; the **lesson** is the answered notebook rendered on this site, with its outputs.",
             "", "To run one, set up the repository as its README says (`make setup`, then "
             "`.venv/bin/jupyter lab`), or `pip install` the repository in a notebook service and open the file "
             "there; nothing in the lessons needs a network at run time.", ""]
    if students:
        lines += ["## Student notebooks", "", "| notebook | file |", "|---|---|"]
        lines += [f"| {_notebook_title(path)} | [{path.name}](notebooks/student/{path.name}) |" for path in students]
    else:
        lines += ["## Student notebooks", "", "This checkout has no student notebooks (`notebooks/student/` is empty)."]
    lines += ["", "## Lessons with their solutions and outputs", "", "| lesson | page | file |", "|---|---|---|"]
    # The lesson's .ipynb sits next to its page (mkdocs-jupyter's include_source); a Markdown link to it would
    # become a link to the page, so the download is raw HTML (hooks.py checks that it resolves).
    lines += [f'| {_notebook_title(path)} | [read](notebooks/{path.name}) | '
              f'<a href="notebooks/{path.name}" download>{path.name}</a> |' for path in lessons]
    return "\n".join(lines) + "\n"


def stage(repo: Path, target: Path, config: Path) -> None:
    """Copy the site's sources from `repo` into `target` (emptied first), mirroring the repository's layout."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    _copy(repo / "README.md", target / "index.md")
    for page in sorted((repo / "docs").glob("*.md")):
        _copy(page, target / "docs" / page.name)
    lessons = sorted((repo / "notebooks").glob("[0-9]*.ipynb"))
    if not lessons:
        raise SystemExit(f"{repo / 'notebooks'} has no lessons (files [0-9]*.ipynb): nothing to build")
    for lesson in lessons:
        _copy(lesson, target / "notebooks" / lesson.name)
    students = sorted((repo / "notebooks" / "student").glob("*.ipynb"))
    for student in students:
        _copy(student, target / "notebooks" / "student" / student.name)
    for pattern in FIGURE_FILES:  # figures/ and its subfolders (figures/reproduce/ ...), in the same layout
        for picture in sorted((repo / "figures").rglob(pattern)):
            _copy(picture, target / picture.relative_to(repo))
    (target / "downloads.md").write_text(_downloads_page(lessons, students), encoding="utf-8")
    for module in _api_modules(config):
        (target / "api").mkdir(exist_ok=True)
        (target / "api" / f"{module}.md").write_text(f"::: {module}\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository to build from (default: this one)")
    parser.add_argument("--config", type=Path, default=None, help="mkdocs.yml (default: REPO/mkdocs.yml)")
    parser.add_argument("--site-dir", type=Path, default=None, help="where the site goes (default: REPO/site)")
    parser.add_argument("--stage-only", action="store_true", help="stage the sources, do not run mkdocs")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    config = (args.config or repo / "mkdocs.yml").resolve()
    docs_dir = repo / yaml.safe_load(config.read_text())["docs_dir"]
    stage(repo, docs_dir, config)
    if args.stage_only:
        return 0
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean", "--config-file", str(config)]
    if args.site_dir is not None:
        command += ["--site-dir", str(args.site_dir.resolve())]
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # mkdocs-material's banner about its successor
    return subprocess.call(command, cwd=repo, env=env)


if __name__ == "__main__":
    sys.exit(main())
