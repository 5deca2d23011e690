"""The student notebooks (tools/student_notebooks.py, the markup in its docstring).

* The generator, on small synthetic notebooks: gap blocks become `raise NotImplementedError("<hint>")`
  at their indentation, hints are escaped, solution cells are dropped (with a "Your answer" cell where
  a written answer was), links are rewritten for the student/ subfolder, every malformed markup gives
  its error naming the notebook and cell, and the output is the same bytes every run.
* The committed student notebooks: up to date, free of solution code and of outputs.
* Slow: each student notebook runs in one kernel from notebooks/student/; every cell but the check
  cells runs without error; every check cell fails (NotImplementedError or AssertionError) with the stub
  in place, and passes once the gap's solution is pasted back into the same kernel; the stubs are then
  restored, so the cells after it run as they do for the student.

GCNN_EDU_LESSONS=<folder> runs the tests over another copy of the lessons (its student notebooks in
<folder>/student); the tests themselves are tested that way on a lesson with deliberate mistakes.
"""

import ast
import importlib.util
import json
import os
import resource
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPOSITORY = Path(__file__).resolve().parent.parent
LESSONS = Path(os.environ.get("GCNN_EDU_LESSONS", REPOSITORY / "notebooks"))
CELL_TIMEOUT_S = 300  # lesson 7 trains small models in one cell

_spec = importlib.util.spec_from_file_location("student_notebooks", REPOSITORY / "tools" / "student_notebooks.py")
student_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student_notebooks)
MarkupError = student_notebooks.MarkupError


def lesson(*cells):
    """A synthetic answered lesson: cells given as ("code" | "markdown", source, tags...)."""
    notebook = new_notebook()
    for number, (kind, source, *tags) in enumerate(cells):
        cell = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
        cell.id = f"cell-{number}"
        if tags:
            cell.metadata["tags"] = list(tags)
        notebook.cells.append(cell)
    return notebook


def student(*cells):
    """The student version of lesson(*cells), without its banner cell."""
    return student_notebooks.student_notebook(lesson(*cells), "99_synthetic.ipynb").cells[1:]


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def lesson_paths():
    return sorted(LESSONS.glob(student_notebooks.LESSON_GLOB))


# --- gap blocks -------------------------------------------------------------------------------------


GAP = '''import torch


def rotate_all(x, times):
    """Every quarter turn of x, stacked: out[k] = rot90(x, k)."""
    turns = []
    for k in range(times):
        # BEGIN SOLUTION: append x turned k quarter turns (torch.rot90)
        turned = torch.rot90(x, k, dims=(-2, -1))
        turns.append(turned)
        # END SOLUTION
    # BEGIN SOLUTION: stack the turns along a new first axis
    return torch.stack(turns)
    # END SOLUTION


# BEGIN SOLUTION: the size of the group
order = 4
# END SOLUTION
print("defined")'''

STUB = '''import torch


def rotate_all(x, times):
    """Every quarter turn of x, stacked: out[k] = rot90(x, k)."""
    turns = []
    for k in range(times):
        raise NotImplementedError("append x turned k quarter turns (torch.rot90)")
    raise NotImplementedError("stack the turns along a new first axis")


raise NotImplementedError("the size of the group")
print("defined")'''


def test_each_block_becomes_a_raise_at_its_indentation_and_the_lines_outside_stay():
    gap, check = student(("code", GAP, "gap"), ("code", "assert rotate_all", "check"))
    assert gap.source == STUB
    assert tags(gap) == ["gap"] and tags(check) == ["check"] and check.source == "assert rotate_all"


def test_the_stub_raises_the_hint():
    (gap, _) = student(("code", "def f():\n    # BEGIN SOLUTION: return 1\n    return 1\n    # END SOLUTION", "gap"),
                       ("code", "assert f() == 1", "check"))
    namespace = {}
    exec(gap.source, namespace)
    with pytest.raises(NotImplementedError, match="^return 1$"):
        namespace["f"]()


def test_a_hint_with_quotes_and_backslashes_is_escaped():
    source = '# BEGIN SOLUTION: use padding="same" or \\"circular\\" \\n, not \'valid\'\npass\n# END SOLUTION'
    assert student_notebooks.stub_gap(source) == (
        'raise NotImplementedError("use padding=\\"same\\" or \\\\\\"circular\\\\\\" \\\\n, not \'valid\'")')


def test_a_long_hint_goes_on_its_own_line_so_the_stub_keeps_the_line_length():
    hint = "h" * 100
    stub = student_notebooks.stub_gap(f"def f():\n    # BEGIN SOLUTION: {hint}\n    pass\n    # END SOLUTION")
    assert stub == f'def f():\n    raise NotImplementedError(\n        "{hint}"\n    )'
    assert max(len(line) for line in stub.split("\n")) <= 120


@given(st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1).map(str.strip).filter(bool))
def test_every_one_line_hint_survives_as_a_python_string(hint):
    stub = student_notebooks.stub_gap(f"# BEGIN SOLUTION: {hint}\nx = 1\n# END SOLUTION")
    call = ast.parse(stub).body[0].exc
    assert ast.literal_eval(call.args[0]) == hint


# --- solution cells and links -----------------------------------------------------------------------


def test_solution_cells_are_dropped_and_a_written_answer_leaves_a_placeholder():
    cells = student(
        ("markdown", "**Exercise 1.** Why? **Exercise 2.** Compute it."),
        ("markdown", "### Solution 1", "solution"),
        ("code", "print('secret demonstration')", "solution"),
        ("markdown", "Because of the secret reason.", "solution"),
        ("markdown", "### Solution 2", "solution"),
        ("code", "print(2 + 2)", "solution"),
        ("markdown", "## Summary"),
    )
    assert [cell.source for cell in cells] == [
        "**Exercise 1.** Why? **Exercise 2.** Compute it.",
        "### Exercise 1\n\n**Your answer:** ...",  # exercise 2 asked for code only: no placeholder
        "## Summary",
    ]


def test_a_written_answer_without_a_heading_gets_a_plain_placeholder():
    cells = student(("markdown", "Question?"), ("markdown", "The answer, in words.", "solution"))
    assert [cell.source for cell in cells] == ["Question?", "**Your answer:** ..."]


@pytest.mark.parametrize(("answered", "for_the_student"), [
    ("[conventions](../docs/conventions.md)", "[conventions](../../docs/conventions.md)"),
    ("![turn](../figures/p4.gif) and ![flip](../figures/m.png \"a flip\")",
     "![turn](../../figures/p4.gif) and ![flip](../../figures/m.png \"a flip\")"),
    ('<img src="../figures/x.png" width="300"/>', '<img src="../../figures/x.png" width="300"/>'),
    ("<a href='../docs/conventions.md#axes'>axes</a>", "<a href='../../docs/conventions.md#axes'>axes</a>"),
    ("[conv]: ../docs/conventions.md", "[conv]: ../../docs/conventions.md"),
    ("[data](./digits.csv), [pic](figures/local.png)", "[data](../digits.csv), [pic](../figures/local.png)"),
    ("[lesson 2](02_functions_on_groups.ipynb#the-action)", "[lesson 2](02_functions_on_groups.ipynb#the-action)"),
    ("[paper](https://arxiv.org/abs/1602.07576), [up](#summary), ![a](attachment:a.png)",
     "[paper](https://arxiv.org/abs/1602.07576), [up](#summary), ![a](attachment:a.png)"),
    ("$f[x](h, x)$, $[L_g f](x)$ and $\\psi[k](g)$", "$f[x](h, x)$, $[L_g f](x)$ and $\\psi[k](g)$"),
])
def test_relative_links_are_rewritten_for_the_student_folder(answered, for_the_student):
    assert student_notebooks.rewrite_links(answered) == for_the_student


def test_code_cells_and_attachments_are_left_alone():
    notebook = lesson(("markdown", "![a](attachment:a.png)"), ("code", "path = '../figures/x.png'"))
    notebook.cells[0]["attachments"] = {"a.png": {"image/png": "iVBORw0KGgo="}}
    cells = student_notebooks.student_notebook(notebook, "99_synthetic.ipynb").cells[1:]
    assert cells[0]["attachments"] == notebook.cells[0]["attachments"]
    assert cells[1].source == "path = '../figures/x.png'"


def test_the_banner_names_the_lesson_and_how_to_regenerate():
    notebook = student_notebooks.student_notebook(lesson(("markdown", "text")), "03_lifting.ipynb")
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert "[`03_lifting.ipynb`](../03_lifting.ipynb)" in first.source and "make student" in first.source
    assert "tools/student_notebooks.py" in first.source and "do not edit it by hand" in first.source


def test_a_lesson_without_exercises_is_copied_without_outputs():
    notebook = lesson(("markdown", "# Title"), ("code", "print(1)"), ("code", "x = 2"))
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    notebook.cells[1].execution_count = 1
    notebook.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-11-22T13:18:45Z"}
    notebook.cells[2].metadata["tags"] = ["keep-me-not"]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    generated = student_notebooks.student_notebook(notebook, "99_synthetic.ipynb")
    expected = [new_markdown_cell("# Title", id="cell-0"), new_code_cell("print(1)", id="cell-1"),
                new_code_cell("x = 2", id="cell-2")]
    assert generated.cells[1:] == expected
    assert generated.metadata == notebook.metadata
    assert notebook.cells[1].outputs, "the answered lesson itself is not modified"


# --- malformed markup -------------------------------------------------------------------------------

CHECK = ("code", "assert True", "check")
MALFORMED = {
    "BEGIN without END": (
        [("code", "x = 1\n# BEGIN SOLUTION: set y\ny = 2", "gap"), CHECK],
        "cell 1 (code: 'x = 1'): BEGIN SOLUTION on line 2 has no '# END SOLUTION' after it"),
    "nested blocks": (
        [("code", "# BEGIN SOLUTION: a\n# BEGIN SOLUTION: b\n# END SOLUTION\n# END SOLUTION", "gap"), CHECK],
        "BEGIN SOLUTION on line 2 is nested in the block opened on line 1"),
    "END without BEGIN": (
        [("code", "x = 1\n# END SOLUTION", "gap"), CHECK], "END SOLUTION on line 2 has no BEGIN SOLUTION before it"),
    "END indented unlike BEGIN": (
        [("code", "def f():\n    # BEGIN SOLUTION: a\n    pass\n# END SOLUTION", "gap"), CHECK],
        "END SOLUTION on line 4 is not indented like its BEGIN SOLUTION on line 2"),
    "BEGIN without a hint": (
        [("code", "# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "gap"), CHECK], "BEGIN SOLUTION on line 1 has no hint"),
    "gap without a block": (
        [("code", "def f():\n    return 1", "gap"), CHECK], "cell 1 (code: 'def f():'): it is tagged 'gap' but has no"),
    "block that splits a statement": (
        [("code", "x = (1 +\n# BEGIN SOLUTION: two\n2)\n# END SOLUTION", "gap"), CHECK],
        "it is no longer valid Python"),
    "check before any gap": (
        [("markdown", "intro"), CHECK, ("code", "# BEGIN SOLUTION: a\nx = 1\n# END SOLUTION", "gap")],
        "cell 2 (code: 'assert True'): a 'check' cell needs a 'gap' cell before it"),
    "two checks for one gap": (
        [("code", "# BEGIN SOLUTION: a\nx = 1\n# END SOLUTION", "gap"), CHECK, CHECK],
        "cell 3 (code: 'assert True'): a 'check' cell needs a 'gap' cell before it (after any previous check)"),
    "gap without a check": (
        [("code", "# BEGIN SOLUTION: a\nx = 1\n# END SOLUTION", "gap"), ("code", "print(1)")],
        "cell 1 (code: '# BEGIN SOLUTION: a'): this 'gap' cell has no 'check' cell after it"),
    "markers in an untagged cell": (
        [("code", "# BEGIN SOLUTION: a\nx = 1\n# END SOLUTION")],
        "has BEGIN/END SOLUTION markers but is not tagged 'gap'"),
    "gap on a markdown cell": ([("markdown", "text", "gap")], "only code cells can be tagged 'gap'"),
    "two exercise tags": ([("code", "x = 1", "gap", "solution")], "has the tags ['gap', 'solution']"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_markup_names_the_notebook_the_cell_and_the_problem(case):
    cells, message = MALFORMED[case]
    with pytest.raises(MarkupError) as error:
        student_notebooks.student_notebook(lesson(*cells), "99_synthetic.ipynb", where="notebooks/99_synthetic.ipynb")
    assert str(error.value).startswith("notebooks/99_synthetic.ipynb, cell ")
    assert message in str(error.value)


# --- output files and the command line --------------------------------------------------------------


def write_lesson(folder, name, notebook):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)


def test_the_output_is_the_same_bytes_every_run_and_what_nbformat_writes(tmp_path):
    notebook = lesson(("markdown", "Ünïcode ψ [c](../docs/c.md)"), ("code", GAP, "gap"), ("code", "assert 1", "check"))
    texts = [student_notebooks.notebook_text(student_notebooks.student_notebook(notebook, "99_x.ipynb"))
             for _ in range(2)]
    assert texts[0] == texts[1]
    nbformat.write(student_notebooks.student_notebook(notebook, "99_x.ipynb"), tmp_path / "written.ipynb")
    assert (tmp_path / "written.ipynb").read_bytes() == texts[0].encode("utf-8")
    parsed = json.loads(texts[0])
    assert list(parsed) == sorted(parsed) and list(parsed["cells"][1]) == sorted(parsed["cells"][1])
    assert student_notebooks.student_texts(LESSONS) == student_notebooks.student_texts(LESSONS)


def test_check_mode_names_stale_files_writes_nothing_and_generation_makes_them_current(tmp_path, capsys):
    lessons, out = tmp_path / "notebooks", tmp_path / "notebooks" / "student"
    write_lesson(lessons, "01_a.ipynb", lesson(("markdown", "A")))
    write_lesson(lessons, "02_b.ipynb", lesson(("code", "# BEGIN SOLUTION: b\nb = 1\n# END SOLUTION", "gap"), CHECK))
    write_lesson(out, "09_gone.ipynb", lesson(("markdown", "a lesson that was removed")))

    assert student_notebooks.main(["--lessons", str(lessons), "--check"]) == 1
    message = capsys.readouterr().out
    assert message.count("\n") == 1 and "01_a.ipynb" in message and "02_b.ipynb" in message
    assert "09_gone.ipynb" in message and "make student" in message
    assert sorted(path.name for path in out.iterdir()) == ["09_gone.ipynb"]

    assert student_notebooks.main(["--lessons", str(lessons)]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    written = {path: path.read_bytes() for path in out.iterdir()}
    capsys.readouterr()
    assert student_notebooks.main(["--lessons", str(lessons), "--check"]) == 0
    assert student_notebooks.main(["--lessons", str(lessons)]) == 0
    assert capsys.readouterr().out == ""  # nothing to write the second time
    assert {path: path.read_bytes() for path in out.iterdir()} == written


def test_malformed_markup_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    lessons = tmp_path / "notebooks"
    write_lesson(lessons, "01_a.ipynb", lesson(("code", "# BEGIN SOLUTION: a\nx = 1", "gap"), CHECK))
    assert student_notebooks.main(["--lessons", str(lessons)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {lessons / '01_a.ipynb'}, cell 1")
    assert not (lessons / "student").exists()


# --- the committed student notebooks ----------------------------------------------------------------


def test_the_committed_student_notebooks_are_up_to_date(tmp_path):
    assert lesson_paths(), f"no lessons in {LESSONS}"
    assert student_notebooks.main(["--lessons", str(LESSONS), "--out", str(tmp_path)]) == 0
    committed = LESSONS / student_notebooks.STUDENT_FOLDER
    for path in lesson_paths():
        assert (committed / path.name).is_file(), f"{committed / path.name} is missing: run `make student`"
        assert (committed / path.name).read_bytes() == (tmp_path / path.name).read_bytes(), (
            f"{committed / path.name} is stale: run `make student`")
    extra = {path.name for path in committed.glob(student_notebooks.LESSON_GLOB)} - {p.name for p in lesson_paths()}
    assert not extra, f"student notebooks without a lesson: {sorted(extra)}; run `make student`"


def solution_lines(notebook) -> set[str]:
    """The lines (stripped) that only the solutions of an answered lesson contain: the lines of its
    `solution` cells and of its BEGIN/END SOLUTION blocks (markers included), less every line that also
    appears in the rest of the lesson."""
    solution, rest = set(), set()
    for cell in notebook.cells:
        inside = False
        for line in cell.source.split("\n"):
            opening = bool(student_notebooks.BEGIN.match(line))
            inside = inside or opening
            in_solution = "solution" in tags(cell) or (inside and "gap" in tags(cell))
            (solution if in_solution else rest).add(line.strip())
            inside = inside and not student_notebooks.END.match(line)
    return solution - rest - {""}


@pytest.mark.parametrize("path", lesson_paths(), ids=lambda path: path.stem[:2])
def test_the_student_notebook_has_no_solution_and_no_outputs(path):
    answered = nbformat.read(path, as_version=4)
    given_out = nbformat.read(LESSONS / student_notebooks.STUDENT_FOLDER / path.name, as_version=4)
    secret = solution_lines(answered)
    for number, cell in enumerate(given_out.cells, start=1):
        leaked = [line for line in cell.source.split("\n") if line.strip() in secret]
        assert not leaked, f"{path.name}, student cell {number} holds solution lines: {leaked}"
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
        assert "solution" not in tags(cell)
        assert "execution" not in cell.metadata, f"{path.name}, cell {number} keeps the kernel's timestamps"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}, cell {number} has outputs"


# --- running the student notebooks ------------------------------------------------------------------


def run_student_notebook(answered, name: str, cwd: Path) -> list[str]:
    """Run the student version of `answered` in one kernel, in the folder `cwd`; return what went wrong.

    Every cell but the check cells must run. A check cell must fail with the stubs in place
    (NotImplementedError or AssertionError); then the solutions of all gap cells so far are run in the
    same kernel and the check must pass; then the stubs are run again, so that the cells after it see
    what the student's kernel would hold."""
    given_out = student_notebooks.student_notebook(answered, name)
    solutions = {cell.id: cell.source for cell in answered.cells if "gap" in tags(cell)}
    client = NotebookClient(given_out, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(cwd)}})
    problems, gaps = [], []

    def run(cell, index):
        """None if the cell ran, else 'ErrorName: message'."""
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as error:
            return f"{error.ename}: {error.evalue}"
        return None

    with client.setup_kernel():
        for index, cell in enumerate(given_out.cells):
            if cell.cell_type != "code":
                continue
            where = f"{name}, {student_notebooks.describe(cell, index)}"
            if "check" not in tags(cell):
                error = run(cell, index)
                if error:
                    problems.append(f"{where}: raised {error}")
                if "gap" in tags(cell):
                    gaps.append((index, cell))
                continue
            error = run(cell, index)
            if error is None:
                problems.append(f"{where}: the check passed with the stub in place")
            elif not error.startswith(("NotImplementedError:", "AssertionError:")):
                problems.append(f"{where}: with the stub the check should fail with NotImplementedError or "
                                f"AssertionError, not {error}")
            for gap_index, gap in gaps:
                error = run(new_code_cell(solutions[gap.id], id=f"pasted-{gap.id}"), gap_index)
                if error:
                    problems.append(f"{where}: the solution of gap cell {gap_index + 1} raised {error}")
            error = run(cell, index)
            if error:
                problems.append(f"{where}: fails with the solution pasted back: {error}")
            for gap_index, gap in gaps:
                run(gap, gap_index)
    return problems


def test_the_runner_reports_every_kind_of_broken_exercise(tmp_path):
    """The runner behind the slow test: a right exercise passes; a stub that passes its check, a check
    that fails with the solution or with the wrong error, and a later cell that needs a gap are caught."""
    answered = lesson(
        ("code", "def square(x):\n    # BEGIN SOLUTION: multiply x by itself\n    return x * x\n    # END SOLUTION",
         "gap"),
        ("code", "assert square(3) == 9, 'square(3) should be 9'\nprint('square: right')", "check"),
        ("code", "def cube(x):\n    # BEGIN SOLUTION: x to the third\n    return x ** 3\n    # END SOLUTION\n"
                 "\ncube = lambda x: x ** 3", "gap"),
        ("code", "assert cube(2) == 8", "check"),
        ("code", "def half(x):\n    # BEGIN SOLUTION: x over two\n    return x / 2\n    # END SOLUTION", "gap"),
        ("code", "assert half(1) == 1", "check"),
        ("code", "def third(x):\n    # BEGIN SOLUTION: x over three\n    return x / 3\n    # END SOLUTION", "gap"),
        ("code", "third(None + 1)", "check"),
        ("code", "print(square(2))"),
        ("code", "open('here.txt').read()"),
    )
    (tmp_path / "here.txt").write_text("the notebook runs in the folder it is given")
    problems = run_student_notebook(answered, "99_synthetic.ipynb", tmp_path)
    expected = [  # (student cell, problem); cell 1 is the banner
        (5, "the check passed with the stub in place"),
        (7, "fails with the solution pasted back: AssertionError"),
        (9, "with the stub the check should fail with NotImplementedError or AssertionError, not TypeError"),
        (9, "fails with the solution pasted back: TypeError"),
        (10, "raised NotImplementedError: multiply x by itself"),
    ]
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, (cell, text) in zip(problems, expected, strict=True):
        assert problem.startswith(f"99_synthetic.ipynb, cell {cell} (") and text in problem, problem


@pytest.mark.slow
@pytest.mark.parametrize("path", lesson_paths(), ids=lambda path: path.stem[:2])
def test_every_check_fails_with_the_stub_and_passes_with_the_solution(path, record_property):
    answered = nbformat.read(path, as_version=4)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    problems = run_student_notebook(answered, path.name, LESSONS / student_notebooks.STUDENT_FOLDER)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    kernel_cpu = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    seconds = time.perf_counter() - start
    record_property("seconds", round(seconds, 1))
    record_property("kernel_cpu_seconds", round(kernel_cpu, 1))
    print(f"{path.name}: {seconds:.1f} s, kernel CPU {kernel_cpu:.1f} s")  # shown by pytest -s
    assert not problems, "\n".join(problems)
