"""The Part 4 report: where it is, which parts are the student's, and which of its four sections
(function definition, data collection, model description, fitting result) it covers.

Reports are markdown cells, README.md / report.md / .txt files, or PDF and Word files (their text
is extracted in the sandboxed child, never here). Most hand-ins still contain the course's own
README, which names the four sections: lines that read as the assignment's rules (points, bonus,
what to submit, "at least") are not the student's words and never count, and a README made of
such rules with nothing of the student's is set aside and named in the verdict.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from grader.discover import REPORT_SUFFIXES, discover, read_source
from grader.extract import SourceFile
from grader.fitting import handout
from grader.fitting.units import is_other_part
from grader.i18n import N_, tr

DOCUMENT_SUFFIXES = (".pdf", ".docx")
TEXT_SUFFIXES = tuple(s for s in REPORT_SUFFIXES if s not in DOCUMENT_SUFFIXES)
CODE = "\x00"  # starts a line taken from a notebook code cell's comments or docstrings
CELL_BREAK = "\x01"  # a line between two notebook cells
MIN_PROSE, MIN_COMMENTS = 8, 20  # non-space characters of prose, or of code comments, under a heading that make
# it a section, not a bare heading
SECTIONS = {
    N_("function definition"): re.compile(
        r"函数定义|目标函数|(?<!损失)(?<!激活)函数(的)?(选择|表达式|形式|定义)|所选函数|选(择|取)(了|的)?.{0,6}函数|定义.{0,8}函数[为是:：]|"
        r"function definition|target function|chosen function|I (fit|chose|picked)|"
        r"[fgy]\s*\(\s*x\s*\)\s*=|y\s*=\s*[-\w\\$]|\$[^$]*(sin|cos|exp|x\^)", re.I),
    N_("data collection"): re.compile(
        r"数据采集|数据(的)?(收集|生成|获取|集|准备|采样)|采样|训练集|测试集|样本|data collection|data ?set|sampl|"
        r"training (set|data|points)|test (set|data|points)|linspace|uniform", re.I),
    N_("model description"): re.compile(
        r"模型描述|模型(结构|搭建|构建|设计|介绍|定义)|网络(结构|模型|架构)|隐藏层|隐层|神经元|model description|"
        r"architecture|hidden (layer|units|neurons)|neurons|network structure|\b(two|three|2|3)[- ]layers?\b", re.I),
    N_("fitting result"): re.compile(
        r"拟合效果|拟合结果|实验结果|结果|效果|误差|loss|mse|result|R²|R\^2|\br2\b|performance|可视化|figure|!\[|<img",
        re.I),
}
# a line of code in a PDF or Word report (no fences there): not prose
_CODE_LINE = re.compile(r"^\s*(from \S+ import|import \w|def \w+\(|class \w+|return\b|print\(|for \w+ in |"
                        r"[\w.\[\]]+\s*[-+*/]?=\s*[\w.]+\(|\w+\.\w+\(.*\)\s*$)")
SHORT_LINE = 16  # non-space characters up to which a line reads as a title ("4 拟合效果")
_EXPRESSION = re.compile(r"[=＝]|\b(sin|cos|tan|exp|log|sqrt|abs)\b|x\s*\^|x²|x³|\*\*|\$|多项式|正弦|余弦|指数|二次|三次",
                         re.I)
_RESULT_SHOWN = re.compile(
    r"!\[|<img|(误差|损失|loss|mse|rmse|r²|r\^?2|决定系数|准确率|accuracy)\W{0,3}(约|为|是|达到|降到|降至|=|:|：)?\s*"
    r"[-+]?\d|(loss|mse|rmse|error|r²|r2|accuracy)( (is|was|of|reaches|reached|about|around|below|under|only))+\s*[-+≈~]?\s*\d|(拟合|效果|结果|曲线|预测).{0,8}(好|不错|准确|理想|一般|较差|差|重合|吻合|接近|贴合|一致)|"
    r"(基本|几乎|完全)(重合|一致|吻合)|收敛|fits? (the \w+ )?(well|closely|poorly|accurately)|close(ly)? (to|match)|"
    r"converge|match(es)? (the|well)|almost (identical|overlap)|on top of|see (the )?figure|如图|见图", re.I)
_PROOF = re.compile(r"(?<!实验)证明|proof|theorem|定理|逼近理论", re.I)  # the chapter's other exercise, not this report
_PROOF_OPENING = re.compile(r"^\W*((要|我们(来)?|下面)?证明|proof\b|theorem\b)", re.I)
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
    found.texts = [ReportText(tr("{file} (markdown cells)", file=file.display), _notebook_text(file),
                              file.display in fitting_files or not any(is_other_part(c.source) for c in file.cells))
                   for file in files if file.markdown]
    found.texts += [ReportText(tr("{file} (leading docstring and comments)", file=file.display), text,
                               file.display in fitting_files)
                    for file in files if (text := _leading_text(file))]
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


def garbled(text: str) -> bool:
    """Text extracted from a PDF whose fonts lack a Unicode map comes out in scripts no report is
    written in (Cyrillic, Myanmar, Bengali... for Chinese): then a human must read the document."""
    letters = [ch for ch in text if ch.isalpha()]
    odd = sum(1 for ch in letters if not (ch.isascii() or "\u4e00" <= ch <= "\u9fff" or "\u3040" <= ch <= "\u30ff"
                                          or "\u0370" <= ch <= "\u03ff" or "\u00c0" <= ch <= "\u024f"))
    return len(letters) >= 50 and odd > 0.2 * len(letters)


def _notebook_text(file: SourceFile) -> str:
    """A notebook's markdown cells in order, with the comments and docstrings of its code cells
    (marked CODE: they fill the section under a heading, but never name one) and CELL_BREAK between
    cells."""
    cells = [(position, text) for position, text in file.markdown]
    cells += [(cell.position, "\n".join(CODE + line for line in _code_prose(cell.source))) for cell in file.cells
              if not is_other_part(cell.source)]  # the comments of Parts 1-3 code are no report of the fit
    return ("\n" + CELL_BREAK + "\n").join(text for _, text in sorted(cells, key=lambda item: item[0]) if text)


def _code_prose(source: str) -> list[str]:
    """The comment and docstring lines of a piece of code."""
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    previous = tokenize.NEWLINE
    for token in tokens:
        if token.type == tokenize.COMMENT:
            found.append(token.string.lstrip("#").strip())
        elif token.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT,
                                                            tokenize.DEDENT):
            found += [line.strip().strip("'\"") for line in token.string.splitlines()]
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type
    return [line for line in found if line]


def _leading_text(file: SourceFile) -> str:
    """The module docstring and the comment block that open a script (or a notebook's first code
    cell): where a script-only hand-in keeps its report."""
    if not file.cells or file.cells[0].tree is None:
        return ""
    first = file.cells[0]
    comments = []
    for line in first.source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        comments.append(line.lstrip("# \t"))
    docstring = ast.get_docstring(first.tree, clean=True) or ""
    return "\n".join(comments + [docstring]).strip()


def _fitting_part(source: ReportText) -> str:
    """The fitting part of a document that also reports Parts 1-3 (from its first mention of fitting)."""
    text = source.text
    prose = "\n".join(line for line in text.splitlines() if not line.startswith(CODE))
    if source.anywhere and not _OTHER_PARTS.search(prose):
        return text
    match = _FITTING.search(text)
    return text[match.start():] if match else ""


def _own_lines(text: str) -> tuple[list[str], int]:
    """The student's lines of a text (the course's handout and rule lines dropped), and how many
    lines were dropped as the course's."""
    text, copied = handout.strip(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    rules = [line for line in lines if _RULE_LINE.search(line)]
    return [line for line in lines if not _RULE_LINE.search(line)], len(rules) + copied


def _level(line: str) -> int:
    """A heading's rank, 1 the highest: `#` count, 2 for "一、", 3 for "1." / "(1)", 4 for bold."""
    marks = len(line) - len(line.lstrip("#"))
    if 0 < marks <= 6:
        return marks
    if re.match(r"^\s*[一二三四五六七八九十]+[、.．]", line):
        return 2
    return 4 if line.lstrip().startswith(("**", "__")) else 3


def _strip_code(text: str) -> str:
    """Markdown without fenced code blocks and inline code (code pasted into a report is no prose)."""
    text = re.sub(r"^\s*(```|~~~).*?^\s*(```|~~~)[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


@dataclass
class _Block:
    """The lines under one heading (or before the first)."""

    heading: str = ""
    prose: int = 0  # non-space characters of prose under it
    comments: int = 0  # ... and of code comments and docstrings


def _credit(block: _Block, found: dict[str, str], where: str) -> None:
    """A heading that names a section counts when something stands under it; a one-word heading
    ("## 数据", "## Model") names it by that word."""
    if not block.heading or block.prose < MIN_PROSE and block.comments < MIN_COMMENTS:
        return
    short = len(re.sub(r"[\W\d_]|^[一二三四五六七八九十]+", "", block.heading)) <= 8
    for section, pattern in SECTIONS.items():
        named = short and HEADINGS[section].search(block.heading) or pattern.search(block.heading)
        if section not in found and named:
            found[section] = f"{where}: {block.heading[:80]!r}"


def _without_proofs(text: str, notebook: bool) -> str:
    """The text without its proofs (the chapter's other exercise: that a two-layer ReLU network can
    approximate any function), which name networks and functions but report no fit. A proof runs
    from a heading that names it to the next heading of its rank or above, or from a paragraph that
    opens it ("要证明...", "Proof.") to the end of its notebook cell or the next top heading."""
    kept, proof_level = [], None
    for line in text.splitlines():
        if line.strip() == CELL_BREAK:
            proof_level = None if proof_level == 0 else proof_level
        elif not line.startswith(CODE) and _HEADING.match(line.strip()) and len(line.strip()) <= 60:
            level = _level(line.strip())
            if proof_level is not None and (0 < level <= proof_level or proof_level == 0 and not notebook and level <= 2):
                proof_level = None
            if _PROOF.search(line) and proof_level is None:
                proof_level = level
        elif not line.startswith(CODE) and proof_level is None and _PROOF_OPENING.match(line.strip()):
            proof_level = 0
        if proof_level is None:
            kept.append(line)
    return "\n".join(kept)


def _sections(source: ReportText, lines: list[str]) -> dict[str, str]:
    """Sections one text covers: a sentence of the student's prose that says it, or a short heading
    that names it with content under it. Code and lines about Parts 1-3 never count."""
    found: dict[str, str] = {}
    document = source.name.lower().endswith(DOCUMENT_SUFFIXES)  # no markdown there: `#` starts a code comment
    block = _Block()
    for line in lines:
        if line == CELL_BREAK:
            continue
        code = line.startswith(CODE) or document and line.lstrip().startswith("#")
        text = line.lstrip(CODE).strip()
        if not code and _HEADING.match(text) and len(text) <= 60:
            _credit(block, found, source.name)
            block = _Block(text)
            continue
        if not code and _CODE_LINE.match(text):
            continue
        size = len(re.sub(r"\s", "", text))
        if code:
            block.comments += size
            continue
        block.prose += size
        if _OTHER_PARTS.search(text):
            continue
        for section, pattern in SECTIONS.items():
            if section == "fitting result" and size > SHORT_LINE:
                pattern = _RESULT_SHOWN  # a sentence must show the result, not announce it
            if section == "function definition" and size > SHORT_LINE and not _EXPRESSION.search(text):
                continue  # a sentence must give the function, not only say that there is one
            if section not in found and pattern.search(text):
                found[section] = f"{source.name}: {text[:80]!r}"
    _credit(block, found, source.name)
    return found


def judge(texts: list[ReportText]) -> ReportVerdict:
    """Which sections the student's own report text covers, over every place it may be."""
    sections: dict[str, str] = {}
    used, set_aside, chars = [], [], 0
    for source in texts:
        base = source.name.rsplit("/", 1)[-1]
        notebook = "\n" + CELL_BREAK + "\n" in source.text
        mine = ReportText(source.name, _without_proofs(_strip_code(source.text), notebook), source.anywhere)
        own, rules = _own_lines(_fitting_part(mine))
        body = "\n".join(line for line in own if line != CELL_BREAK)
        size = len(re.sub(r"[\s\x00\x01]", "", body))
        if rules >= 3 and (not size or _HANDOUT_NAME.match(base) and not _STUDENT_EVIDENCE.search(body)):
            set_aside.append(source.name)
            continue
        if not size or _PROOF.search(base) and not notebook:  # a document named a proof
            continue
        used.append(source.name)
        chars += size
        for section, where in _sections(source, own).items():
            sections.setdefault(section, where)
    return ReportVerdict(sections, used, set_aside, chars)
