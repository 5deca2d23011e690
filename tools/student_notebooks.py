"""Generate the student notebooks (notebooks/student/NN_*.ipynb) from the answered lessons.

    python tools/student_notebooks.py            # (re)write notebooks/student/   (what `make student` runs)
    python tools/student_notebooks.py --check    # exit 1 naming the stale files; writes nothing

The answered lessons notebooks/NN_*.ipynb mark their exercises with Jupyter cell tags
(`metadata.tags`, a list of strings; a cell has at most one of these three):

* ``solution``: a cell only the answered lesson has (a "### Solution N" heading, a worked answer in
  markdown, code that demonstrates an answer). It is dropped. Where a dropped group of cells held a
  written answer (markdown beyond its headings), one markdown cell "**Your answer:** ..." takes its
  place; a group starts at a cell whose first line is a heading such as "### Solution 2", and the
  placeholder then opens with "### Exercise 2".
* ``gap``: a code cell in which the student writes code, holding one or more blocks::

      # BEGIN SOLUTION: <one-line hint for the student>
      ...the solution code...
      # END SOLUTION

  Each block becomes ``raise NotImplementedError("<hint>")`` at the indentation of its BEGIN line (the
  END line is indented alike); the lines outside the blocks (imports, the ``def`` line, the docstring
  that states the maths) stay. The hint is written as a Python string literal, so quotes and
  backslashes in it are escaped. A gap defines something (usually a function) that its check cell
  tests; nothing else in the lesson may use it, so that the student notebook runs from top to bottom
  with only the check cells failing.
* ``check``: a code cell that tests the gap cells since the previous check cell against the package
  (``torch.testing.assert_close``, or ``assert ..., "what is wrong and where to look"``) and prints one
  short line when it passes. It must fail with the stub (NotImplementedError or AssertionError) and
  pass with the solution (tests/test_student_notebooks.py runs both). Each gap has a check after it.
  Check cells are kept verbatim; the ``gap`` and ``check`` tags stay in the student notebook.

Every other cell is copied. Outputs, execution counts and the kernel's timing metadata are cleared;
a first markdown cell says which lesson the notebook was generated from. Relative links and images
in markdown (``[text](../docs/conventions.md)``, ``![](../figures/x.png)``, ``<img src="...">``,
reference definitions) are rewritten to resolve from notebooks/student/: ``../x`` becomes
``../../x``, a sibling file ``x.png`` becomes ``../x.png``; links to other lessons (``NN_*.ipynb``)
stay, so they open the sibling student notebook. URLs, anchors and ``attachment:`` images are kept.

Markup errors (BEGIN without END, nested blocks, a ``gap`` cell with no block, a ``check`` cell with
no gap before it, solution markers outside a ``gap`` cell, ...) raise MarkupError naming the notebook
and the cell; on the command line they print one line and exit with status 2.
The output is deterministic: the same lessons give the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

REPOSITORY = Path(__file__).resolve().parent.parent
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
STUDENT_FOLDER = "student"

SOLUTION, GAP, CHECK = "solution", "gap", "check"
LINE_LENGTH = 120  # ruff's, in pyproject.toml: ruff checks the student notebooks too
KEPT_TAGS = (GAP, CHECK)  # the generated notebook keeps these; the tests find the exercises by them

BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b(?P<rest>.*)$")
END = re.compile(r"^(?P<indent>[ \t]*)#\s*END SOLUTION\b(?P<rest>.*)$")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.*?)\s*#*\s*$")
SOLUTION_NUMBER = re.compile(r"^Solutions?\s+(?P<number>[\w.]+)", re.IGNORECASE)

# Markdown and HTML link targets; rewrite_target decides which of them are paths to rewrite.
INLINE_LINK = re.compile(r"(?P<head>\]\(\s*<?)(?P<target>[^()\s<>]+)(?P<tail>>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\))")
REFERENCE_DEFINITION = re.compile(r"(?P<head>^[ ]{0,3}\[[^\]]+\]:[ \t]*<?)(?P<target>\S+?)(?P<tail>>?(?:\s|$))", re.M)
HTML_ATTRIBUTE = re.compile(
    r"(?P<head><[a-zA-Z][^<>]*?\b(?:src|href)\s*=\s*(?P<quote>[\"']))(?P<target>[^\"'<>]*)(?P<tail>(?P=quote))")
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
LESSON_LINK = re.compile(r"^\d\d_[\w.-]*\.ipynb(?:#.*)?$")
FILE_PATH = re.compile(r"^[\w.-]+(?:/[\w.-]+)*\.[A-Za-z0-9]+(?:[?#]\S*)?$")  # a name with an extension


class MarkupError(ValueError):
    """The exercise markup of an answered lesson is malformed; the message names the notebook and cell."""


# ---------------------------------------------------------------------------------------------------
# gap cells


def python_string(text: str) -> str:
    """`text` as a double-quoted Python string literal: ast.literal_eval(python_string(t)) == t."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def raise_line(indent: str, hint: str) -> list[str]:
    """`raise NotImplementedError("<hint>")`, over three lines where one would pass the line length."""
    line = f"{indent}raise NotImplementedError({python_string(hint)})"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"{indent}raise NotImplementedError(", f"{indent}    {python_string(hint)}", f"{indent})"]


def stub_gap(source: str) -> str:
    """The student's version of a gap cell: every BEGIN/END SOLUTION block becomes a raise of
    NotImplementedError carrying the block's hint, at the block's indentation.
    Raises ValueError (without the cell's place; student_notebook adds it) on malformed blocks."""
    lines = source.split("\n")
    stubbed: list[str] = []
    begin = None  # (line number, indentation) of the open block
    blocks = 0
    for number, line in enumerate(lines, start=1):
        opening, closing = BEGIN.match(line), END.match(line)
        if opening:
            if begin is not None:
                raise ValueError(f"BEGIN SOLUTION on line {number} is nested in the block opened on line {begin[0]}; "
                                 "close that block with '# END SOLUTION' first (blocks cannot nest)")
            hint = opening["rest"].strip()
            if not hint.startswith(":") or not hint[1:].strip():
                raise ValueError(f"BEGIN SOLUTION on line {number} has no hint; write "
                                 "'# BEGIN SOLUTION: <one-line hint for the student>'")
            begin = (number, opening["indent"])
            stubbed.extend(raise_line(opening["indent"], hint[1:].strip()))
            blocks += 1
        elif closing:
            if begin is None:
                raise ValueError(f"END SOLUTION on line {number} has no BEGIN SOLUTION before it")
            if closing["rest"].strip():
                raise ValueError(f"END SOLUTION on line {number} is followed by text; write only '# END SOLUTION'")
            if closing["indent"] != begin[1]:
                raise ValueError(f"END SOLUTION on line {number} is not indented like its BEGIN SOLUTION "
                                 f"on line {begin[0]}; indent both markers like the code they replace")
            begin = None
        elif begin is None:
            stubbed.append(line)
    if begin is not None:
        raise ValueError(f"BEGIN SOLUTION on line {begin[0]} has no '# END SOLUTION' after it")
    if blocks == 0:
        raise ValueError("it is tagged 'gap' but has no '# BEGIN SOLUTION: <hint>' ... '# END SOLUTION' block")
    student_source = "\n".join(stubbed)
    try:
        ast.parse(source)
    except SyntaxError:
        return student_source  # IPython syntax (a %magic): nothing to compare against
    try:
        ast.parse(student_source)
    except SyntaxError as error:
        raise ValueError(f"with its blocks replaced by 'raise NotImplementedError' it is no longer valid Python "
                         f"({error.msg}, line {error.lineno}); a block must hold whole statements") from None
    return student_source


def has_solution_marker(source: str) -> bool:
    return any(BEGIN.match(line) or END.match(line) for line in source.split("\n"))


# ---------------------------------------------------------------------------------------------------
# links


def rewrite_target(target: str) -> str:
    """A link target of the answered lesson (in notebooks/), as seen from notebooks/student/."""
    if URL_SCHEME.match(target) or target.startswith(("/", "#")) or LESSON_LINK.match(target):
        return target  # a URL, attachment:, absolute path or anchor; or another lesson (its student version)
    if target.startswith("../"):
        return "../" + target
    if target.startswith("./"):
        return "../" + target[2:]
    if FILE_PATH.match(target):
        return "../" + target  # a file next to the lessons
    return target  # not a path: the bracket pair of a formula such as f[x](h, x)


def rewrite_links(markdown: str) -> str:
    """Every relative link, image and HTML src/href of a markdown cell, rewritten by rewrite_target."""
    def rewrite(match: re.Match) -> str:
        return match["head"] + rewrite_target(match["target"]) + match["tail"]

    for pattern in (INLINE_LINK, REFERENCE_DEFINITION, HTML_ATTRIBUTE):
        markdown = pattern.sub(rewrite, markdown)
    return markdown


# ---------------------------------------------------------------------------------------------------
# notebooks


def cell_tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def describe(cell, index: int) -> str:
    first = next((line.strip() for line in cell.source.split("\n") if line.strip()), "")
    first = first if len(first) <= 60 else first[:57] + "..."
    return f"cell {index + 1} ({cell.cell_type}: {first!r})"


def is_written_answer(cell) -> bool:
    """A markdown cell with text beyond its headings."""
    return cell.cell_type == "markdown" and any(
        line.strip() and not HEADING.match(line) for line in cell.source.split("\n"))


def answer_placeholder(dropped: list, identifier: str):
    """The markdown cell that replaces a group of solution cells holding a written answer."""
    first_line = dropped[0].source.split("\n")[0] if dropped[0].cell_type == "markdown" else ""
    heading = HEADING.match(first_line)
    number = SOLUTION_NUMBER.match(heading["title"]) if heading else None
    text = "**Your answer:** ..."
    if number:
        text = f"### Exercise {number['number']}\n\n" + text
    return nbformat.v4.new_markdown_cell(text, id=identifier)


def banner(lesson_name: str, has_gaps: bool, has_placeholders: bool):
    """The first cell: where the notebook comes from and how to work in it."""
    text = (f"**Student version** of [`{lesson_name}`](../{lesson_name}), generated by `tools/student_notebooks.py`:"
            " do not edit it by hand; after changing the lesson, regenerate it with `make student`.")
    if has_gaps:
        text += ("\n\nEach exercise that asks for code is a gap: replace every `raise NotImplementedError(...)` by"
                 " your code, then run the check cell after it, which tests your answer against the package"
                 " `gcnn_edu`. Everything else runs as it is.")
    if has_placeholders:
        text += "\n\nWrite your answers to the other exercises in the cells marked **Your answer:**."
    return nbformat.v4.new_markdown_cell(text, id="student-version")


def clean(cell) -> None:
    """Clear what running the notebook produced; keep only the tags the student version uses."""
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    cell.metadata.pop("execution", None)  # the kernel's timestamps
    tags = [tag for tag in cell_tags(cell) if tag in KEPT_TAGS]
    if tags:
        cell.metadata["tags"] = tags
    else:
        cell.metadata.pop("tags", None)


def student_notebook(lesson, lesson_name: str, where: str | None = None):
    """The student version of the answered lesson `lesson` (a NotebookNode, not modified).
    `lesson_name` is its file name (for the banner); `where` names it in errors (default: the name)."""
    where = where or lesson_name
    cells: list = []
    dropped: list = []  # the current group of consecutive solution cells
    gaps_since_check: list[int] = []
    placeholders = 0

    def close_dropped():
        nonlocal placeholders
        # a group starts at each solution cell that opens with a heading ("### Solution 2")
        groups: list[list] = []
        for cell in dropped:
            opens_group = cell.cell_type == "markdown" and HEADING.match(cell.source.split("\n")[0])
            if opens_group or not groups:
                groups.append([])
            groups[-1].append(cell)
        for group in groups:
            if any(is_written_answer(cell) for cell in group):
                placeholders += 1
                cells.append(answer_placeholder(group, f"your-answer-{placeholders}"))
        dropped.clear()

    for index, original in enumerate(lesson.cells):
        tags = set(cell_tags(original))
        here = f"{where}, {describe(original, index)}"
        exercise_tags = sorted(tags & {SOLUTION, GAP, CHECK})
        if len(exercise_tags) > 1:
            raise MarkupError(f"{here}: has the tags {exercise_tags}; a cell is at most one of solution, gap, check")
        if tags & {GAP, CHECK} and original.cell_type != "code":
            raise MarkupError(f"{here}: only code cells can be tagged {exercise_tags[0]!r}")
        if SOLUTION in tags:
            dropped.append(original)
            continue
        close_dropped()
        cell = copy.deepcopy(original)
        if GAP in tags:
            try:
                cell.source = stub_gap(cell.source)
            except ValueError as error:
                raise MarkupError(f"{here}: {error}") from None
            gaps_since_check.append(index)
        elif cell.cell_type == "code" and has_solution_marker(cell.source):
            raise MarkupError(f"{here}: has BEGIN/END SOLUTION markers but is not tagged 'gap'; tag it 'gap' "
                              "(or 'solution' to drop it), or the solution would reach the student")
        if CHECK in tags:
            if not gaps_since_check:
                raise MarkupError(f"{here}: a 'check' cell needs a 'gap' cell before it (after any previous check); "
                                  "merge tests of the same gap into one check cell")
            gaps_since_check = []
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source)
        clean(cell)
        cells.append(cell)
    close_dropped()
    if gaps_since_check:
        index = gaps_since_check[0]
        raise MarkupError(f"{where}, {describe(lesson.cells[index], index)}: this 'gap' cell has no 'check' "
                          "cell after it; add one that tests it against the package")

    student = copy.copy(lesson)  # the lesson's metadata, shared, not modified; new cells
    has_gaps = any(GAP in cell_tags(cell) for cell in cells)
    student.cells = [banner(lesson_name, has_gaps, placeholders > 0), *cells]
    nbformat.validate(student)
    return student


def notebook_text(notebook) -> str:
    """The bytes nbformat.write would write (sorted keys, one-space indent), as text ending in a newline."""
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def student_texts(lessons: Path) -> dict[str, str]:
    """{file name: text of its student version} for every answered lesson in the folder `lessons`."""
    texts = {}
    for path in sorted(lessons.glob(LESSON_GLOB)):
        try:
            lesson = nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several kinds on unreadable JSON or a bad schema
            raise MarkupError(f"{path}: cannot be read as a notebook ({error})") from None
        texts[path.name] = notebook_text(student_notebook(lesson, path.name, where=str(path)))
    return texts


def stale_files(out: Path, texts: dict[str, str]) -> list[Path]:
    """The files of `out` that differ from `texts`, are missing, or have no lesson any more."""
    stale = [out / name for name, text in texts.items()
             if not (out / name).is_file() or (out / name).read_bytes() != text.encode("utf-8")]
    stale += [path for path in sorted(out.glob(LESSON_GLOB)) if path.name not in texts]
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming the stale student notebooks if any would change")
    parser.add_argument("--lessons", type=Path, default=REPOSITORY / "notebooks",
                        help="folder of the answered lessons NN_*.ipynb (default: notebooks/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the student notebooks (default: the lessons' student/ subfolder)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else args.lessons / STUDENT_FOLDER
    if not args.lessons.is_dir():
        print(f"error: no lessons folder {args.lessons}; pass --lessons <folder of NN_*.ipynb>", file=sys.stderr)
        return 2
    try:
        texts = student_texts(args.lessons)
    except MarkupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stale = stale_files(out, texts)
    if args.check:
        if stale:
            print(f"stale student notebooks (run `make student`): {', '.join(str(path) for path in stale)}")
            return 1
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for path in stale:
        if path.name in texts:
            path.write_bytes(texts[path.name].encode("utf-8"))
            print(f"wrote {path}")
        else:
            path.unlink()
            print(f"removed {path} (no lesson {path.name} any more)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
