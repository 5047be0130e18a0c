"""The Part 4 report: where it is, which parts are the student's, and which of its four sections
(function definition, data collection, model description, fitting result) it covers.

Reports are markdown cells, README.md / report.md / .txt files, or PDF and Word files (their text
is extracted in the sandboxed child, never here). Most hand-ins still contain the course's own
README, which names the four sections: lines that read as the assignment's rules (points, bonus,
what to submit, "at least") are not the student's words and never count, and a README made of
such rules with nothing of the student's is set aside and named in the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader.discover import REPORT_SUFFIXES, discover, read_source
from grader.extract import SourceFile
from grader.i18n import N_, tr

DOCUMENT_SUFFIXES = (".pdf", ".docx")
TEXT_SUFFIXES = tuple(s for s in REPORT_SUFFIXES if s not in DOCUMENT_SUFFIXES)
MIN_REPORT_CHARS = 150  # non-space characters of the student's own text, below which it is no report
SECTIONS = {
    N_("function definition"): re.compile(
        r"函数定义|目标函数|函数(的)?(选择|表达式|形式|定义)|所选函数|选(择|取)(了|的)?.{0,6}函数|"
        r"function definition|target function|chosen function|I (fit|chose|picked)|"
        r"[fgy]\s*\(\s*x\s*\)\s*=|y\s*=\s*[-\w\\$]|\$[^$]*(sin|cos|exp|x\^)", re.I),
    N_("data collection"): re.compile(
        r"数据采集|数据(的)?(收集|生成|获取|集|准备|采样)|采样|训练集|测试集|样本|data collection|data ?set|sampl|"
        r"training (set|data|points)|test (set|data|points)|linspace|uniform", re.I),
    N_("model description"): re.compile(
        r"模型描述|模型(结构|搭建|构建|设计|介绍|定义)|网络(结构|模型|架构)|隐藏层|隐层|神经元|model description|"
        r"architecture|hidden (layer|units|neurons)|neurons|network structure|two-layer|layers\b", re.I),
    N_("fitting result"): re.compile(
        r"拟合效果|拟合结果|实验结果|结果|效果|误差|loss|mse|result|R²|R\^2|\br2\b|performance|可视化|figure", re.I),
}
_RULE_LINE = re.compile(r"^\W*(请|please\b|you (should|must|need|are (asked|required)))|\d+\s*(分|points?|pts)\b|\(\s*\d+\s*分|（\s*\d+\s*分|bonus|加分|额外|提交|submit|deadline|截止|"
                        r"评分|grading|rubric|作业|homework|assignment|requirements?\b|至少|at least|须|必须|should (contain|include)|"
                        r"需要包含|应包含|must", re.I)
# A heading (markdown, bold, numbered) that names a section with one word: "## Data", "**Model.**", "三、结果".
_HEADING = re.compile(r"^\s*(#{1,6}\s|\*\*|__|\(?[0-9一二三四五六七八九十]+[.、)）:：]|（[0-9一二三四五六七八九十]+）)")
HEADINGS = {
    "function definition": re.compile(r"\bfunctions?\b|\btarget\b|函数", re.I),
    "data collection": re.compile(r"\bdata\b|\bsampling\b|数据|样本", re.I),
    "model description": re.compile(r"\bmodel\b|\bnetwork\b|模型|网络", re.I),
    "fitting result": re.compile(r"\bresults?\b|\bevaluation\b|\bfit\b|结果|效果", re.I),
}
_FITTING = re.compile(r"拟合|逼近|function fitting|fit(ting)? (a|the|my|our) function|approximat", re.I)
_OTHER_PARTS = re.compile(r"mnist|softmax|sigmoid|cross.?entropy|交叉熵", re.I)
_HANDOUT_NAME = re.compile(r"^(readme|作业|homework|assignment|hw\d*|task|说明)", re.I)
_STUDENT_EVIDENCE = re.compile(r"!\[|\d+\.\d+|epoch|迭代|loss\s*[:=]|\b\d{2,}\b")


@dataclass
class ReportText:
    """One place the report may be: its name and the student's text in it. The markdown of a
    notebook without fitting code (the starter notebooks' own text) counts only from where it
    speaks of fitting (`anywhere` False)."""

    name: str
    text: str
    anywhere: bool = True


@dataclass
class ReportSources:
    """What was collected for the report before anything ran."""

    texts: list[ReportText] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)  # PDF / Word, read in the child
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportVerdict:
    sections: dict[str, str]  # section -> where it was found ("README.md: '## 函数定义'")
    used: list[str]
    set_aside: list[str]  # files read as the course's handout, not the student's report
    chars: int

    @property
    def missing(self) -> list[str]:
        return [name for name in SECTIONS if name not in self.sections]


def collect(handin: Path, files: list[SourceFile], max_bytes: int, fitting_files: set[str] = frozenset()) -> ReportSources:
    """Markdown cells of the hand-in's notebooks (`files`, already read), its text files and its
    PDF/Word files (`fitting_files`: the notebooks that hold fitting code, by display name)."""
    root = handin if handin.is_dir() else handin.parent
    found = ReportSources()
    found.texts = [ReportText(tr("{file} (markdown cells)", file=file.display), "\n\n".join(file.markdown),
                              file.display in fitting_files)
                   for file in files if file.markdown]
    discovered = discover(handin, max_bytes, REPORT_SUFFIXES)
    for path in discovered.sources:
        name = path.relative_to(root).as_posix()
        if path.suffix.lower() in TEXT_SUFFIXES:
            try:
                found.texts.append(ReportText(name, read_source(path, max_bytes).decode("utf-8", "replace")))
            except OSError as error:
                found.notes.append(tr("{file}: cannot be read ({error})", file=name, error=error))
        else:
            try:
                found.documents[name] = read_source(path, max_bytes)
            except OSError as error:
                found.notes.append(tr("{file}: cannot be read ({error})", file=name, error=error))
    found.notes += [f"{name}: {reason}" for name, reason in discovered.skipped.items()]
    return found


def _fitting_part(source: ReportText) -> str:
    """The fitting part of a document that also reports Parts 1-3 (from its first mention of fitting)."""
    text = source.text
    if source.anywhere and not _OTHER_PARTS.search(text):
        return text
    match = _FITTING.search(text)
    return text[match.start():] if match else ""


def _own_lines(text: str) -> tuple[list[str], int]:
    """The student's lines of a text (rule lines dropped), and how many rule lines there were."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    rules = [line for line in lines if _RULE_LINE.search(line)]
    return [line for line in lines if not _RULE_LINE.search(line)], len(rules)


def judge(texts: list[ReportText]) -> ReportVerdict:
    """Which sections the student's own report text covers, over every place it may be."""
    sections: dict[str, str] = {}
    used, set_aside, chars = [], [], 0
    for source in texts:
        own, rules = _own_lines(_fitting_part(source))
        body = "\n".join(own)
        base = source.name.rsplit("/", 1)[-1]
        if rules >= 3 and _HANDOUT_NAME.match(base) and not _STUDENT_EVIDENCE.search(body):
            set_aside.append(source.name)
            continue
        size = len(re.sub(r"\s", "", body))
        if not size:
            continue
        used.append(source.name)
        chars += size
        for line in own:
            heading = bool(_HEADING.match(line)) and len(line) <= 60
            for section, pattern in SECTIONS.items():
                if section not in sections and (pattern.search(line) or heading and HEADINGS[section].search(line)):
                    sections[section] = f"{source.name}: {line[:80]!r}"
    if chars < MIN_REPORT_CHARS:
        sections = {}
    return ReportVerdict(sections, used, set_aside, chars)
