"""Reports and exports: HTML escapes everything a student wrote, exports parse as their formats say."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from markupsafe import escape

from grader.cli import main
from grader.report import charts
from grader.report.exports import grades_csv, gradescope, junit_xml
from grader.report.html import SORTER_JS, _csp, class_page, submission_page
from grader.report.write import slug, unique_slugs, write_reports
from grader.similarity import SimilaritySettings
from tests.conftest import FAST, REPO
from tests.helpers import write_handin

DATA = Path(__file__).parent / "data"
HOSTILE_FOLDER = '<img src=x onerror="document.body.dataset.pwned=1">'
PAYLOAD = "<script>document.body.dataset.pwned='script'</script><img src=x onerror=\"document.body.dataset.pwned='img'\">"
HOSTILE_EDITS = {
    "softmax": f'''def softmax(x):
    # {PAYLOAD}
    raise ValueError("""{PAYLOAD}""")''',
    "sigmoid": '''def sigmoid(x):
    """</pre></details><script>document.body.dataset.pwned='docstring'</script>"""
    return tf.nn.sigmoid(x)''',
}


def hostile_handin(root: Path) -> Path:
    """A complete hand-in whose folder name, code and exception text carry markup and script."""
    return write_handin(root / HOSTILE_FOLDER, **HOSTILE_EDITS)


@pytest.fixture(scope="module")
def hostile_result(grader, tmp_path_factory) -> dict:
    return grader.grade(hostile_handin(tmp_path_factory.mktemp("hostile")), FAST).to_dict()


@pytest.fixture(scope="module")
def correct_result(grader) -> dict:
    return grader.grade(REPO / "submissions" / "correct").to_dict()  # all targets: curves for the charts


class TagCounter(HTMLParser):
    """Counts start tags and attributes as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))


def parsed_tags(page: str) -> list[tuple[str, dict]]:
    parser = TagCounter()
    parser.feed(page)
    return parser.tags


def assert_no_student_markup(page: str) -> None:
    tags = parsed_tags(page)
    assert not [t for t in tags if t[0] == "img"], "a student's <img> became markup"
    assert not [a for _, a in tags for name in a if name.startswith("on")], "an event handler attribute got through"
    assert "pwned" not in "".join(str(a) for _, a in tags)


def test_hostile_hand_in_is_graded_and_its_markup_is_only_text(hostile_result):
    page = submission_page(hostile_result)
    assert_no_student_markup(page)
    assert not [t for t in parsed_tags(page) if t[0] == "script"]
    assert "&lt;script&gt;document.body.dataset.pwned" in page  # shown, as text, in the code and the message
    assert "&lt;img src=x onerror=" in page
    assert hostile_result["score"] < hostile_result["max_score"]


def test_flagged_line_marks_the_forbidden_builtin(hostile_result):
    page = submission_page(hostile_result)
    flagged = re.findall(r'<span class="line flagged"><span class="no">(\d+)</span>([^<]*)</span>', page)
    assert flagged and all("tf.nn.sigmoid" in text for _, text in flagged)


def test_class_page_runs_only_its_own_script_and_escapes_names(hostile_result, correct_result):
    page = class_page([(hostile_result, "x/report.html"), (correct_result, "y/report.html")])
    assert_no_student_markup(page)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert scripts == [SORTER_JS]
    assert str(escape(_csp(SORTER_JS))) in page  # the page's policy allows that script by hash, nothing else


def test_submission_page_shows_scores_gradients_and_curves(correct_result):
    page = submission_page(correct_result)
    assert '<p class="total" id="total">83 / 78</p>' in page
    for target in ("softmax", "sigmoid", "softmax_ce", "sigmoid_ce", "Matmul", "Relu", "mnist_numpy", "mnist_tf"):
        assert f'id="target-{target}"' in page
    assert page.count('<table class="gradients">') == 4  # backward_fd and backward_tf of Matmul and Relu
    assert page.count("<polyline") >= 8  # loss and accuracy, student and reference, two models
    assert "tensorflow" in page  # the environment section
    links = [a.get(name) for _, a in parsed_tags(page) for name in ("src", "href") if a.get(name)]
    assert all(link.startswith(("#", "data:image/png;base64,")) for link in links)  # self-contained: no CDN, font
    assert sum(link.startswith("data:image/png") for link in links) == 1  # ... the student's own figure is inline
    assert "function_fitting.fit: model and target on a grid of the training interval" in page  # the grader's own plot
    assert not [t for t, _ in parsed_tags(page) if t in ("link", "script", "iframe", "object")]


def test_gradescope_results_follow_the_documented_fields(hostile_result, correct_result):
    schema = json.loads((DATA / "gradescope_results.schema.json").read_text())
    for result in (hostile_result, correct_result):
        document = gradescope(result)
        jsonschema.validate(document, schema)
        assert document["score"] == result["score"]
        assert sum(t["max_score"] for t in document["tests"]) == result["max_score"]
        assert [t["status"] == "passed" for t in document["tests"]] == [c["passed"] for c in result["checks"]]


def test_gradescope_schema_rejects_a_wrong_document(correct_result):
    """The schema is strict enough to catch what Gradescope would reject."""
    schema = json.loads((DATA / "gradescope_results.schema.json").read_text())
    document = gradescope(correct_result)
    document["tests"][0]["visibility"] = "students"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_junit_xml_is_valid_and_counts_failures(hostile_result, correct_result):
    text = junit_xml([hostile_result, correct_result])
    xmlschema.XMLSchema(DATA / "junit.xsd").validate(text)
    suites = ET.fromstring(text).findall("testsuite")
    assert [s.get("name") for s in suites] == [HOSTILE_FOLDER, "correct"]
    hostile_failures = sum(1 for c in hostile_result["checks"] if not c["passed"] and c["max_score"])
    assert int(suites[0].get("failures")) == hostile_failures > 0
    assert suites[1].get("failures") == "0" and len(suites[1].findall("testcase")) == len(correct_result["checks"])


def test_junit_xml_survives_control_characters_and_flags_grader_errors(correct_result):
    broken = json.loads(json.dumps(correct_result))
    broken["checks"][0].update(passed=False, score=0.0, message="grader error while grading: \x00\x1b[31m")
    broken["internal_errors"] = [broken["checks"][0]["message"]]  # as the pipeline records it, in any language
    broken["checks"][1].update(passed=False, score=0.0, message="student bug \x07")
    suite = ET.fromstring(junit_xml([broken])).find("testsuite")
    xmlschema.XMLSchema(DATA / "junit.xsd").validate(junit_xml([broken]))
    assert (suite.get("errors"), suite.get("failures")) == ("1", "1")


def test_junit_rejects_an_invalid_document_under_the_schema():
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        xmlschema.XMLSchema(DATA / "junit.xsd").validate('<testsuites><testsuite name="x"/></testsuites>')


def test_grades_csv_has_one_row_per_hand_in_and_defuses_formulas(hostile_result, correct_result):
    formula = dict(correct_result, submission="=HYPERLINK(\"http://evil\")")
    rows = list(csv.DictReader(io.StringIO(grades_csv([hostile_result, correct_result, formula]))))
    assert len(rows) == 3
    assert rows[1]["total"] == "83" and rows[1]["mnist_tf"] == "6" and rows[1]["all_passed"] == "yes"
    assert rows[0]["softmax"] == "0" and rows[0]["all_passed"] == "no"
    assert rows[2]["submission"].startswith("'=")
    assert "Softmax" not in rows[0]  # zero-point targets are not gradebook columns


def test_slugs_are_safe_and_unique():
    assert slug(HOSTILE_FOLDER) == "img_src_x_onerror_document.body.dataset.pwned_1"
    assert slug("../../etc") == "etc" and slug("...") == "hand-in"
    assert unique_slugs(["Ana", "ana", "a/b", "a b"]) == ["Ana", "ana-2", "a_b", "a_b-2"]


def test_write_reports_and_render_again_from_stored_results(hostile_result, correct_result, tmp_path):
    first = write_reports([hostile_result, correct_result], tmp_path / "first", SimilaritySettings())  # as a batch
    assert all(p.is_file() for p in first)
    stored = tmp_path / "first" / "results.json"
    assert main(["report", str(stored), "--out", str(tmp_path / "again")]) == 0
    for name in ("index.html", "grades.csv", "junit.xml", "similarity.csv", "correct/report.html",
                 "correct/gradescope_results.json"):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    assert not list(tmp_path.rglob("*.tmp"))


def test_report_command_rejects_what_is_not_a_results_document(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"score": 3}')
    assert main(["report", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "not a dlgrade results document" in capsys.readouterr().err
    bad.write_text("{truncated")
    assert main(["report", str(bad), "--out", str(tmp_path / "out")]) == 2


def test_line_chart_skips_non_finite_values_and_empty_curves():
    chart = charts.line_chart("loss", [("yours", [2.3, float("nan"), 1.0, float("inf"), 0.5], "student")])
    assert chart is not None and len(chart.series[0].points.split()) == 3
    assert charts.line_chart("loss", [("yours", [float("nan")] * 4, "student")]) is None
    assert charts.line_chart("loss", [("yours", [], "student")]) is None


def test_histogram_counts_every_score_once():
    chart = charts.histogram("scores", [0, 6.8, 34, 67.9, 68, 68], 68)
    assert sum(bar.value for bar in chart.bars) == 6
    assert chart.bars[-1].value == 3 and chart.bars[0].value == 1
