"""Loading hand-ins: only definitions survive, whatever students leave in their notebooks."""

from __future__ import annotations

import ast

from grader.discover import find_sources
from grader.extract import extract_file, neutralise_magics
from grader.pipeline import load_sources
from grader.targets import TARGETS, locate
from tests.helpers import write_notebook, write_v3_notebook


def kept_names(file) -> list[str]:
    """Names bound by the kept statements, in order (what the child will execute)."""
    names = []
    for cell in file.cells:
        for index in cell.kept:
            stmt = cell.tree.body[index]
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                names.append(stmt.name)
            elif isinstance(stmt, ast.Assign):
                names += [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                names += [a.asname or a.name for a in stmt.names]
    return names


def test_magics_shell_and_help_lines_are_neutralised_keeping_line_numbers():
    source = "%matplotlib inline\n!pip install tqdm\nfiles = !ls\nnp.sum?\ndef f(x):\n    return x"
    cleaned, skip = neutralise_magics(source)
    assert skip is None
    assert cleaned.count("\n") == source.count("\n")
    tree = ast.parse(cleaned)
    assert isinstance(tree.body[-1], ast.FunctionDef) and tree.body[-1].lineno == 5


def test_valid_python_with_percent_is_left_alone():
    assert neutralise_magics("a = 5 % 3\nb = '!x'") == ("a = 5 % 3\nb = '!x'", None)


def test_cell_magics(tmp_path):
    path = write_notebook(tmp_path / "nb.ipynb", ["%%time\ndef timed(x):\n    return x",
                                                  "%%bash\ndef not_python(:", "%%writefile a.py\nprint(1)"])
    file = extract_file(path, "nb.ipynb")
    assert "timed" in file.definitions
    assert not file.problems  # skipped cell magics are not errors


def test_top_level_runs_are_dropped_definitions_and_constants_kept(tmp_path):
    cells = ["import numpy as np\nimport tensorflow as tf\nfrom tensorflow.keras import layers as L",
             "(x, y), _ = tf.keras.datasets.mnist.load_data()\nEPS = 1e-8\nSHAPE = (28, 28)\nNEG = -EPS * 2",
             "for i in range(10**9):\n    pass\nwhile True:\n    pass\nprint('x')\nname = input()",
             "model = object()\nplt_alias = np.random\nobj.attr = 3\ndata[0] = 1",
             "def f(x):\n    return x\nclass C:\n    pass\ng = lambda x: x"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert kept_names(file) == ["np", "tf", "L", "EPS", "SHAPE", "NEG", "plt_alias", "f", "C", "g"]


def test_later_rebinding_does_not_replace_a_definition(tmp_path):
    cells = ["def softmax(x):\n    return x", "class Softmax:\n    pass", "softmax = Softmax()\nsoftmax = None"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert file.definitions["softmax"].kind == "function"
    assert kept_names(file) == ["softmax", "Softmax"]


def test_alias_assignment_counts_when_there_is_no_def(tmp_path):
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", ["def my_softmax(x):\n    return x\nsoftmax = my_softmax"]), "nb.ipynb")
    assert file.definitions["softmax"].kind == "function"


def test_syntax_error_costs_only_its_cell(tmp_path):
    cells = ["def softmax(x):\n    return x", "def sigmoid(x:\n    return x", "def softmax_ce(x, l):\n    return x"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert set(file.definitions) == {"softmax", "softmax_ce"}
    assert len(file.problems) == 1 and "cell 2" in file.problems[0] and "syntax error" in file.problems[0]


def test_cells_are_numbered_as_the_student_sees_them(tmp_path):
    cells = ["md:# title", "def broken(:", "md:text", "def also_broken(:"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert [p.split(": ")[0] for p in file.problems] == ["nb.ipynb, cell 2", "nb.ipynb, cell 4"]


def test_crlf_line_ends(tmp_path):
    path = tmp_path / "hw.py"
    path.write_bytes(b"import numpy as np\r\ndef sigmoid(x):\r\n    return 1 / (1 + np.exp(-x))\r\n")
    file = extract_file(path, "hw.py")
    assert "sigmoid" in file.definitions and not file.problems
    assert "\r" not in file.linecache["<dlgrade hw.py>"]


def test_every_nbformat_4_minor_and_v3_upgrade(tmp_path):
    for minor in range(0, 6):
        path = write_notebook(tmp_path / f"v4_{minor}.ipynb", ["def softmax(x):\n    return x"], minor=minor)
        assert "softmax" in extract_file(path, path.name).definitions, minor
    path = write_v3_notebook(tmp_path / "v3.ipynb", ["import numpy as np", "def sigmoid(x):\n    return x"])
    assert "sigmoid" in extract_file(path, "v3.ipynb").definitions


def test_truncated_notebook_is_reported_and_others_still_load(tmp_path):
    good = write_notebook(tmp_path / "good.ipynb", ["def sigmoid(x):\n    return x"])
    broken = tmp_path / "broken.ipynb"
    broken.write_text(good.read_text()[:40])
    files = load_sources(tmp_path)
    by_name = {f.display: f for f in files}
    assert "cannot be read" in by_name["broken.ipynb"].problems[0]
    assert "sigmoid" in by_name["good.ipynb"].definitions


def test_py_cell_markers_keep_absolute_line_numbers(tmp_path):
    path = tmp_path / "export.py"
    path.write_text("#!/usr/bin/env python\n# In[1]:\nimport numpy as np\n# In[2]:\ndef broken(:\n# %%\n\ndef softmax(x):\n    return x\n")
    file = extract_file(path, "export.py")
    assert file.definitions["softmax"].lineno == 8
    assert file.problems == ["export.py: syntax error at line 5: invalid syntax; its definitions were not loaded"]


def test_py_without_markers_loses_only_the_broken_block(tmp_path):
    path = tmp_path / "hw.py"
    path.write_text("import numpy as np\n\ndef softmax(x):\n    return x\n\nprint(oops\n\n@staticmethod\ndef sigmoid(x):\n    return x\n")
    file = extract_file(path, "hw.py")
    assert {"softmax", "sigmoid"} <= set(file.definitions)
    assert len(file.problems) == 1


def test_non_utf8_python_file_is_read(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes("# caf\xe9\ndef sigmoid(x):\n    return x\n".encode("latin-1"))
    file = extract_file(path, "latin.py")
    assert "sigmoid" in file.definitions
    assert "Latin-1" in file.problems[0]


def test_discovery_is_recursive_sorted_and_skips_checkpoints(tmp_path):
    write_notebook(tmp_path / "b" / "part2.ipynb", ["x = 1"])
    write_notebook(tmp_path / "a.ipynb", ["x = 1"])
    write_notebook(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb", ["x = 1"])
    write_notebook(tmp_path / "b" / ".ipynb_checkpoints" / "part2-checkpoint.ipynb", ["x = 1"])
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "helper.py").write_text("x = 1")
    assert [p.relative_to(tmp_path).as_posix() for p in find_sources(tmp_path)] == ["a.ipynb", "b/part2.ipynb", "helper.py"]
    assert find_sources(tmp_path / "a.ipynb") == [tmp_path / "a.ipynb"]


def test_non_ascii_paths(tmp_path):
    folder = tmp_path / "学生 张三"
    write_notebook(folder / "作业 1.ipynb", ["def softmax(x):\n    return x"])
    files = load_sources(folder)
    assert files[0].display == "作业 1.ipynb" and "softmax" in files[0].definitions


def test_missing_target_names_the_searched_files(tmp_path):
    write_notebook(tmp_path / "one.ipynb", ["def sigmoid(x):\n    return x"])
    (tmp_path / "two.py").write_text("class softmax:\n    pass\n")
    located = locate(TARGETS["softmax"], load_sources(tmp_path))
    assert located.file is None
    assert "one.ipynb, two.py" in located.missing_message and "`softmax`" in located.missing_message


def test_target_is_taken_from_the_file_that_defines_the_part(tmp_path):
    write_notebook(tmp_path / "a_helpers.ipynb", ["def softmax(x):\n    return 0"])
    write_notebook(tmp_path / "b_part1.ipynb", ["def softmax(x):\n    return x", "def sigmoid(x):\n    return x",
                                                "def softmax_ce(x, l):\n    return x"])
    located = locate(TARGETS["softmax"], load_sources(tmp_path))
    assert located.file.display == "b_part1.ipynb"


def test_helpers_imports_and_decorators_are_indexed(tmp_path):
    cells = ["import tensorflow as tf", "def _norm(e):\n    return e / tf.reduce_sum(e, -1, keepdims=True)",
             "@tf.function\ndef softmax(x):\n    return _norm(tf.exp(x))"]
    file = extract_file(write_notebook(tmp_path / "nb.ipynb", cells), "nb.ipynb")
    assert file.definitions["softmax"].cell.where == "nb.ipynb, cell 3"
    assert file.definitions["_norm"].cell.where == "nb.ipynb, cell 2"
