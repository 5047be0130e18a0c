"""The Part 4 report: where it is, which parts are the student's, and which of its four sections
(function definition, data collection, model description, fitting result) it covers, with the
line that earned each one.

Reports are markdown cells (with the comments, docstrings and stored outputs of the code cells
between them), README.md / report.md / .txt files, or PDF and Word files (their text is extracted
in the sandboxed child, never here). A section counts when the student's own words give its
content, anywhere: the function (an expression, or its kind), the data (an interval, a number of
points, how they were drawn), the model (sizes, layers, the training), the result (a number, a
figure, a verdict on the fit). Naming a section is not giving it: a bare heading, a label ("the
function to fit") or the task said again ("a two-layer ReLU network") does not count. Most
hand-ins still contain the course's own README, which names the four sections: its lines
(recognised by grader/fitting/handout.py) and lines that read as the assignment's rules never
count, and a README with nothing of the student's is set aside and named in the verdict.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader.discover import REPORT_SUFFIXES, discover, read_source
from grader.extract import FIGURE, SourceFile
from grader.fitting import formulas, handout
from grader.fitting.units import is_other_part
from grader.i18n import N_, _, tr

DOCUMENT_SUFFIXES = (".pdf", ".docx")
TEXT_SUFFIXES = tuple(s for s in REPORT_SUFFIXES if s not in DOCUMENT_SUFFIXES)
CODE = "\x00"  # starts a line taken from a notebook code cell's comments or docstrings
DOC = "\x03"  # follows CODE on a docstring's line: a docstring is prose the student wrote, read under a heading or not
CELL_BREAK = "\x01"  # starts a notebook cell (followed by its position, when known)
OUTPUT = "\x02"  # starts a line of a code cell's stored output, in short (a figure, a printed number)
SHORT_TITLE = 6  # letters up to which a line naming a section reads as its title ("4 拟合效果", "Results")
SENTENCE = 20  # letters from which a numbered list item reads as a sentence, not a label ("4. The net learned it well")
SHORT_EVIDENCE = 24  # non-space characters below which one line alone is thin evidence for a section
FUNCTION, DATA, MODEL, RESULT = (N_("function definition"), N_("data collection"), N_("model description"),
                                 N_("fitting result"))
# What names a section (a sentence about it, or its label)
SECTIONS = {
    FUNCTION: re.compile(
        r"函数定义|目标函数|(?<!损失)(?<!激活)函数(的)?(选择|表达式|形式|定义)|所选函数|选(择|取)(了|的)?.{0,6}函数|定义.{0,8}函数[为是:：]|"
        r"拟合.{0,12}函数|function definition|target function|chosen function|function to (fit|approximate)|"
        r"I (fit|chose|picked)|[fgy]\s*\(\s*x\s*\)\s*=|y\s*=\s*[-\w\\$|(]|\$[^$]*(sin|cos|exp|x\^)|"
        r"(fit|approximat|拟合|逼近|近似).{0,40}\b(sin|cos|exp|tanh?|log)\s*\(\s*x|\b(sin|cos|exp|tanh?|log)\s*\(\s*x\s*\).{0,40}"
        r"(fit|approximat|拟合|逼近|近似)", re.I),
    DATA: re.compile(
        r"数据采集|数据(的)?(收集|生成|获取|集|准备|采样)|采样|训练集|测试集|样本|data collection|data ?set|sampl|"
        r"(training|test|testing) (set|data|points|inputs|samples|examples)|linspace|uniform|(训练|测试)(数据|样本|点)|"
        r"\d+\s*(points|samples|inputs)\b|\d+\s*个(点|样本|数据)|held[- ]out|\bgrid\b", re.I),
    MODEL: re.compile(
        r"模型描述|模型(结构|搭建|构建|设计|介绍|定义)|网络(结构|模型|架构)|隐藏层|隐层|神经元|model description|"
        r"architecture|hidden (layer|units|neurons)|neurons|network structure|\b(two|three|2|3)[- ]layers?\b", re.I),
    RESULT: re.compile(
        r"拟合效果|拟合结果|实验结果|结果|效果|误差|loss|mse|result|R²|R\^2|\br2\b|performance|可视化|figure|!\[|<img|"
        r"\berror\b|(predicted|fitted|prediction) curve|预测曲线|拟合曲线|visuali[sz]ation",
        re.I),
}
_MODEL_WORD = re.compile(r"\b(net|network|model|MLP)\b|网络|模型", re.I)
# A one-word heading names its section by that word: "## Data", "**Model.**", "三、结果"
HEADINGS = {
    FUNCTION: re.compile(r"\bfunctions?\b|\btarget\b|函数", re.I),
    DATA: re.compile(r"\bdata(set)?\b|\bsampling\b|数据|样本", re.I),
    MODEL: re.compile(r"\bmodel\b|\bnetwork\b|模型|网络", re.I),
    RESULT: re.compile(r"\bresults?\b|\bevaluation\b|\bfit\b|\boutcome\b|\bvisuali[sz]ation\b|\bplots?\b|\bcomparison\b|"
                       r"结果|效果|可视化|对比|画图|绘图", re.I),
}
# What gives a section's content
_FUNCTION_KIND = re.compile(r"正弦|余弦|正切|多项式|二次|三次|平方|立方|指数|对数|绝对值|抛物线|sine|cosine|tangent|"
                            r"polynomial|quadratic|cubic|square|exponential|logarithm|absolute value|parabola", re.I)
# A kind of function named in words, and what the code of such a function calls: "正弦函数" when the code fits x ** 2
_KIND_IN_CODE = [(re.compile(pattern, re.I), token) for pattern, token in (
    (r"正弦|\bsine\b", "sin"), (r"余弦|\bcosine\b", "cos"), (r"正切|\btangent\b", "tan"), (r"指数|exponential", "exp"),
    (r"对数|logarithm", "log"), (r"绝对值|absolute value", "abs"))]
_FUNCTION_MATH = re.compile(r"(?<![a-z])(sin|cos|tan|exp|log|ln|sqrt|tanh|abs)\s*[(\\{]?\s*[\d.]*\s*\*?\s*x|"
                            r"\\(sin|cos|exp|frac|sqrt)|x\s*(\^|\*\*)\s*\{?\d|x[²³]|e\^", re.I)
_NUMBER = r"[-−+]?\s*(\d+(\.\d+)?|\.\d+)?\s*(\\?pi|π)?"
_DATA_CONTENT = re.compile(
    rf"[\[(（]\s*{_NUMBER}\s*[,，;]\s*{_NUMBER}\s*[\])）]|从\s*[-−]?\s*[\d.]+.{{0,8}}到|between\s+[-−]?[\d.]+|"
    r"from\s+[-−]?[\d.]+\s+to|[-−]?\d+(\.\d+)?\s*[~～]\s*[-−]?\d+|"
    r"\d+\s*(个|组|条)|\d+\s*(样本|样本点|数据点|samples?|points?|pts|examples?|inputs?)\b|(样本数|数量|点数|个数)\D{0,4}\d+|"
    r"\b(n|num\w*|size)\s*[=:]\s*\d+|"
    r"\b(hundred|thousand|fifty|twenty|thirty|forty|sixty|ten)\b.{0,25}(points|inputs|samples)|"
    r"linspace|uniform|arange|均匀|随机|random|等间距|等间隔|等差|evenly|equally spaced|\bgrid\b|网格|步长|step|"
    r"正态|gauss|normal distribution|noise|噪声|\d+\s*[:：]\s*\d+|\d+\s*%|比例|ratio|test_size|前\s*\d+|后\s*\d+|"
    r"(first|last)\s+\d+", re.I)
_MODEL_CONTENT = re.compile(
    r"\d+\s*(个)?\s*(隐藏)?(神经元|单元|节点|units?|neurons?|nodes?|hidden)|"
    r"(隐藏层|隐层|hidden(\s+layers?)?(\s+size)?|宽度|width|维度|dim\w*)\D{0,10}\d+|"
    r"\d+\s*(->|=>|[-–×x*→])\s*\d+\s*([(（][^()（）]{0,12}[)）])?\s*(->|=>|[-–×x*→])\s*\d+|Linear|Dense|nn\.|全连接|fully[- ]connected|线性层|线性连接|"
    r"linear (layers?|output)|\bMLP\b|Sequential|感知机|perceptron|adam|sgd|梯度下降|gradient descent|rmsprop|"
    r"momentum|动量|优化器|optimi[sz]er|学习率|learning rate|\blr\b|\d+\s*(轮|个?epochs?|次迭代|次|iterations?|steps?)|"
    r"(epochs?|轮数|迭代次数|iterations?)\D{0,6}\d+|batch[_ ]?size|批大小|小批量|mini-?batch|均方|mean squared|\bmse\b|"
    r"损失函数|loss function|初始化|initiali[sz]|\bHe\b|xavier|kaiming|正态分布|(depth|深度|层数)\D{0,4}\d+", re.I)
_RESULT_SHOWN = re.compile(  # a number, a figure
    r"!\[|<img|" + re.escape(FIGURE) + r"|"
    r"(误差|损失(?!函数)|loss(?! ?function)|mse(?! ?loss)|rmse|mae|r²|r\^?2|决定系数|准确率|accuracy|\berror\b)"
    r"(\W{0,3}|[^。；;，,\d]{0,20}(约|为|是|达到|降到|降至|仅|=|:|：|"
    r"\bis|\bwas|\bof|\bat|reach(es|ed)?|about|around|below|under|only|stays|(drops|dropped|fell) to|equals?))"
    r"\s*[-+≈~]?\s*"
    r"\d+(\.\d+)?([eE][-+]?\d+)?(?![a-zA-Z∑(])|"
    r"如图|见图|见下图|如下图|下图|see (the )?(figure|plot)|in the figure|shown below", re.I)
_RESULT_VERDICT = re.compile(  # a verdict on the fit, in words
    r"(误差|损失|loss|mse|error)[^。.;；]{0,25}(很小|较小|极小|非常小|小于|\bsmall\b|\btiny\b|\blow\b|\bnegligible\b|"
    r"接近\s*0|趋近于?\s*0|close to zero)|"
    r"(拟合|效果|结果|曲线|预测|fits?|curves?|predictions?)[^。.;；]{0,20}(好|不错|准确|理想|一般|较差|(?<!误)差(?!异|值|距)|"
    r"重合|吻合|接近|贴合|一致|well|good|closely|poor|accurate|coincide|overlap|match|agree|(sits|lies) (right |almost )?on)|"
    r"(较好|很好|良好|准确|精确|完美|well|closely|accurately)\W{0,2}地?(拟合|逼近|fit|approximat)|"
    r"(基本|几乎|完全)(重合|一致|吻合)|coincide|overlap|on top of|almost identical|"
    r"(learn|reproduc|follow|track|match|captur|approximat|fit|predict)\w*\b[^.;]{0,40}\b"
    r"(closely|well|accurately|faithfully|perfectly|precisely)|(excellent|good|close) (fit|agreement|match)|"
    r"更好|更差|优于|不如|better|worse", re.I)
# a question or a hope, not a verdict: "是否拟合得好", "Ideally the prediction should match the target"
_ASKED = re.compile(r"是否|好坏|好不好|怎么样|如何|whether|how well|if the|ideally|\bshould\b|\bexpect|\bhope|希望|期望|应该|应当|"
                    r"理想情况|理想状态", re.I)
# A comment that names a measured result: over a printed number, it reports the result ("5) 测试集上的误差")
_MEASURED = re.compile(r"测试|验证|评估|结果|效果|test|valid|evaluat|result|performance|r²|r2", re.I)
# What the task itself says (the homework's Part 4): said again, it is no content
_TASK = {
    FUNCTION: re.compile(r"自行定义|自定义|定义一个函数|拟合(此|这个|该)函数|define (a|your own|our own) function", re.I),
    DATA: re.compile(r"训练集|测试集|training set|test set|采样|sampl|数据集|dataset", re.I),
    MODEL: re.compile(r"两层|二层|2层|two[- ]layer|relu|神经网络|neural network|network|网络", re.I),
    RESULT: re.compile(r"拟合效果|效果|结果|results?|performance|验证", re.I),
}
_WITHOUT = {
    FUNCTION: N_("names the function without giving it (no expression nor kind of function)"),
    DATA: N_("names the data without the interval, the number of points or how they were drawn"),
    MODEL: N_("names the model without its sizes, layers or training"),
    RESULT: N_("announces the result without showing it (no number, figure or verdict)"),
}
_TASK_AGAIN = N_("restates the task")
_NOT_EXTRACTED = N_("points to content that is not in the document's extracted text (an equation or an image?)")
# In a PDF or Word report, equations and figures are lost from the extracted text; what points to them stays
_LOST = re.compile(r"^(?!.*(代码|code)).*(如下|以下|as follows|below)\s*[:：]?\s*$", re.I)
_CAPTION = re.compile(r"图\s*\d|figure\s*\d|fig\.?\s*\d|可视化|对比图|曲线图|结果图|效果图", re.I)
_BARE_HEADING = N_("heading without content")
_MODEL_FORMULA = N_("a formula of the model (weights), not of the function")
# a line of code in a PDF or Word report (no fences there): not prose
_CODE_LINE = re.compile(r"^\s*(from \S+ import|import \w|def \w+\(|class \w+|return\b|print\(|for \w+ in |"
                        r"[\w.\[\]]+\s*[-+*/]?=\s*\w+\.[\w.]+\(|\w+(\.\w+)+\(.*\)\s*$)")
_PROOF = re.compile(r"(?<!实验)证明|proof|theorem|定理|逼近理论", re.I)  # the chapter's other exercise, not this report
_PROOF_OPENING = re.compile(r"^\W*((要|我们(来)?|下面)?证明|proof\b|theorem\b)", re.I)
# A grade ("5 分", "(5 points)", "worth 5 points"), not "256 points" of data nor "8:2 分为训练集和测试集"
_GRADE = r"\d+\s*分\b|[(（]\s*\d+\s*(points?|pts)|(up to|worth|earns?|bonus of)\s*\d+\s*(points?|pts)"
_RULE_LINE = re.compile(r"^\W*(请|please\b|you (should|must|need|are (asked|required)))|" + _GRADE +
                        r"|bonus|加分|额外|提交|submit|deadline|截止|"
                        r"评分|grading|rubric|至少|at least|须|必须|should (contain|include)|需要包含|应包含|must", re.I)
# The course's words: a rule, unless the line writes the student's formula ("Homework 4: fitting g(x) = 1/(1+x^2)")
_COURSE_WORD = re.compile(r"作业|homework|assignment|requirements?\b", re.I)
# A heading (markdown, bold, numbered) that may name a section: "## Data", "**Model.**", "三、结果".
_HEADING = re.compile(r"^\s*(#{1,6}\s|\*\*|__|\(?[0-9一二三四五六七八九十]+[.、)）:：]|（[0-9一二三四五六七八九十]+）)")
_BANNER = re.compile(r"^[=\-*~]{3,}|^(step|part)\s*\d|^第\s*[\d一二三四五六七八九十]+\s*[步部]", re.I)
_FITTING = re.compile(r"(?<![过欠])拟合|逼近|function fitting|fit(ting)? (a|the|my|our) function|approximat", re.I)
_OTHER_PARTS = re.compile(r"mnist|softmax|sigmoid|cross.?entropy|交叉熵", re.I)
_OTHER_TOPIC = re.compile(r"mnist|softmax|cross.?entropy|交叉熵", re.I)  # a paragraph about Parts 1-3 starts here
_HANDOUT_NAME = re.compile(r"^(readme|作业|homework|assignment|hw\d*|task|说明)", re.I)
PROSE, COMMENT, SHOWN, BREAK = "prose", "comment", "output", "break"
HANDOUT_TEXT, RULES, PROOF, OTHER_PART, PASTED_CODE = (N_("the course's handout text"), N_("the course's rules"),
                                                       N_("part of a proof"), N_("about Parts 1-3"), N_("code"))


@dataclass
class ReportText:
    """One place the report may be: its name and the student's text in it. The markdown of a
    notebook without fitting code (the starter notebooks' own text) counts only from where it
    speaks of fitting (`anywhere` False). `file` is the file it comes from, for the evidence."""

    name: str
    text: str
    anywhere: bool = True
    file: str = ""
    comments: bool = False  # a script's comments: read only for the sections they give


@dataclass
class ReportSources:
    """What was collected for the report before anything ran."""

    texts: list[ReportText] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)  # PDF / Word, read in the child
    notes: list[str] = field(default_factory=list)
    targets: list[formulas.CodeTarget] = field(default_factory=list)  # what the fitting code fits


@dataclass
class Evidence:
    """Why a section counts (the line that earned it) or not (the nearest candidate and why not)."""

    section: str
    counted: bool
    where: str  # "report.md, line 3", "fit.ipynb, cell 7"
    text: str
    why: str = ""
    short: bool = False  # counted on one short line only
    file: str = ""  # the same place, for programs: the file, and its line (text files) or cell (notebooks)
    line: int = 0
    cell: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReportVerdict:
    sections: dict[str, str]  # section -> where it was found ("README.md, line 4: '函数定义：y = x^2'")
    used: list[str]
    set_aside: list[str]  # files read as the course's handout, not the student's report
    chars: int
    evidence: list[Evidence] = field(default_factory=list)  # one per section, in SECTIONS order

    @property
    def missing(self) -> list[str]:
        return [name for name in SECTIONS if name not in self.sections]

    @property
    def thin(self) -> list[Evidence]:
        """Sections counted on one short line only."""
        return [item for item in self.evidence if item.counted and item.short]


def collect(handin: Path, files: list[SourceFile], max_bytes: int, fitting_files: dict[str, int] | None = None,
            targets: list[formulas.CodeTarget] | None = None) -> ReportSources:
    """Markdown cells of the hand-in's notebooks (`files`, already read), its text files and its
    PDF/Word files. `fitting_files`: the files that hold fitting code, by display name, each with
    the cell from which a notebook speaks of the fit (after its Parts 1-3); `targets`: the
    functions that code fits."""
    fitting_files = fitting_files or {}
    root = handin if handin.is_dir() else handin.parent
    found = ReportSources(targets=list(targets or []))
    found.texts = [ReportText(tr("{file} (markdown cells)", file=file.display),
                              _notebook_text(file, fitting_files.get(file.display, 0)),
                              file.display in fitting_files or not any(is_other_part(c.source) for c in file.cells),
                              file.display)
                   for file in files if file.markdown or file.path.suffix.lower() == ".ipynb"]
    found.texts += [ReportText(tr("{file} (leading docstring and comments)", file=file.display), text,
                               file.display in fitting_files, file.display)
                    for file in files if (text := _leading_text(file))]
    found.texts += [ReportText(tr("{file} (comments)", file=file.display), text, file.display in fitting_files,
                               file.display, comments=True)
                    for file in files if file.path.suffix.lower() == ".py" and (text := _script_comments(file))]
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


def _notebook_text(file: SourceFile, start: int = 0) -> str:
    """A notebook's markdown cells in order from cell `start`, with the comments and docstrings of
    its code cells (marked CODE) and their stored outputs in short (marked OUTPUT), each cell
    opened by CELL_BREAK and its position."""
    cells = [(position, text) for position, text in file.markdown if position >= start]
    for cell in file.cells:
        if is_other_part(cell.source):  # the comments of Parts 1-3 code are no report of the fit
            continue
        lines = [CODE + line for line in _code_prose(cell.source)]  # docstring lines carry DOC
        lines += [OUTPUT + shown for shown in file.outputs.get(cell.position, [])]
        cells.append((cell.position, "\n".join(lines)))
    return "\n".join(f"{CELL_BREAK}{position}\n{text}" for position, text in sorted(cells, key=lambda item: item[0])
                     if text)


def _code_prose(source: str) -> list[str]:
    """The comment and docstring lines of a piece of code."""
    return [text for _row, text in _code_prose_at(source)]


def _code_prose_at(source: str) -> list[tuple[int, str]]:
    """The comment and docstring lines of a piece of code, each with its line (from 1); docstrings start with DOC."""
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    previous = tokenize.NEWLINE
    for token in tokens:
        if token.type == tokenize.COMMENT:
            found.append((token.start[0], token.string.lstrip("#").strip()))
        elif token.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT,
                                                            tokenize.DEDENT):
            found += [(token.start[0] + i, DOC + text) for i, line in enumerate(token.string.splitlines())
                      if (text := line.strip().strip("'\"").strip())]
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type
    return [(row, text) for row, text in found if text]


def _script_comments(file: SourceFile) -> str:
    """A script's comments and docstrings after its leading block, each on its own line of the file
    (marked CODE): comments are a report only under a heading comment ("# 1) 目标函数: f(x) = cos(x)"),
    as a notebook's are under a markdown heading; docstrings are wherever they are."""
    rows: dict[int, str] = {}
    for index, cell in enumerate(file.cells):
        body = [node for node in (cell.tree.body if cell.tree else []) if not _is_docstring(node)]
        start = (body[0].lineno if body else 1 << 30) if index == 0 else 0  # the leading block is read as prose
        rows.update({cell.line_offset + row: text for row, text in _code_prose_at(cell.source) if row >= start})
    if not rows:
        return ""
    return "\n".join(CODE + rows[row] if row in rows else "" for row in range(1, max(rows) + 1))


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


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


# ---- the text as numbered lines -----------------------------------------------------------------

@dataclass
class Line:
    """One line of a report text, where it is, and why it is not the student's report (if not)."""

    text: str
    place: str  # "line 3", "cell 7"
    number: int = 0  # line of the text (text files: of the file)
    position: int = 0  # cell of a notebook (0: not a notebook)
    kind: str = PROSE  # PROSE, COMMENT (a code cell's comment or docstring), SHOWN (a stored output), BREAK
    cell: int = 0  # running cell number in a notebook: ties an output to its cell's comments
    dropped: str = ""  # why it does not count (HANDOUT_TEXT, RULES...), empty if it may
    original: str = ""  # the student's words as written (full width kept, inline code marks kept), for the evidence
    doc: bool = False  # a COMMENT line from a docstring


# Full-width letters, digits and math signs as ASCII ("ｙ＝ｘ³－２ｘ，［－２，２］"), not NFKC: that would make x³ x3;
# the Chinese punctuation the rules read (，：（）) stays
_HALF_WIDTH = {code: code - 0xFEE0 for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B),
                                                *map(ord, "＋－＊／＝＜＞［］＾｜．％～")]} | {0x3000: 0x20}


def _lines(text: str) -> list[Line]:
    """The text's lines with their places: cells in a notebook, line numbers elsewhere."""
    lines, position, cell = [], "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith(CELL_BREAK):
            position, cell = raw[1:].strip(), cell + 1
            lines.append(Line("", "", number, 0, BREAK, cell))
            continue
        place = tr("cell {cell}", cell=position) if position else tr("line {line}", line=number)
        raw = "".join(ch for ch in raw if unicodedata.category(ch) != "Cf" or ch in CODE + OUTPUT + DOC)  # sin⁡(x)
        doc = raw.startswith(CODE + DOC)
        original, raw = raw.lstrip(CODE + OUTPUT + DOC).strip(), raw.translate(_HALF_WIDTH)
        kind = COMMENT if raw.startswith(CODE) else SHOWN if raw.startswith(OUTPUT) else PROSE
        at = int(position) if position.isdigit() else 0
        lines.append(Line(raw.lstrip(CODE + OUTPUT + DOC).strip(), place, number, at, kind, cell, original=original,
                          doc=doc))
    return lines


def _drop_code(lines: list[Line], document: bool) -> None:
    """Fenced code blocks and inline code (code pasted into a report is no prose); in a PDF or Word
    report (no fences), lines that read as code."""
    fenced = False
    for line in lines:
        if line.kind != PROSE:
            continue
        fence = re.match(r"^(```|~~~)", line.text)
        if fence or fenced:
            line.dropped = PASTED_CODE
            fenced = fenced != bool(fence)
            continue
        line.text = re.sub(r"`([^`\n]*)`", r"\1", line.text).strip()  # inline code in a sentence is its words
        if _CODE_LINE.match(line.text) or document and line.text.startswith("#"):
            line.dropped = PASTED_CODE


def _drop_proofs(lines: list[Line], notebook: bool) -> None:
    """Proofs (the chapter's other exercise: that a two-layer ReLU network can approximate any
    function) name networks and functions but report no fit. A proof runs from a heading that
    names it to the next heading of its rank or above, or from a paragraph that opens it ("要证明...",
    "Proof.") to the end of its notebook cell or the next top heading."""
    proof_level = None
    for line in lines:
        text = line.text
        if line.kind == BREAK:
            proof_level = None if proof_level == 0 else proof_level
        elif line.kind == PROSE and _HEADING.match(text) and len(text) <= 60:
            level = _level(text)
            ends = 0 < level <= proof_level if proof_level else proof_level == 0 and not notebook and level <= 2
            if proof_level is not None and ends:
                proof_level = None
            if _PROOF.search(text) and proof_level is None:
                proof_level = level
        elif line.kind == PROSE and proof_level is None and _PROOF_OPENING.match(text):
            proof_level = 0
        if proof_level is not None and not line.dropped:
            line.dropped = PROOF


def _drop_other_parts(lines: list[Line], anywhere: bool) -> None:
    """What is not the fit in a text that also reports Parts 1-3: before its first mention of
    fitting, and from a paragraph about MNIST or softmax to the next mention of fitting."""
    prose = [line.text for line in lines if line.kind == PROSE and not line.dropped]
    if anywhere and not any(_OTHER_PARTS.search(text) for text in prose):
        return
    fitting = False
    for line in lines:
        if _FITTING.search(line.text) and not _OTHER_TOPIC.search(line.text):
            fitting = True
        elif line.kind == PROSE and _OTHER_TOPIC.search(line.text):
            fitting = False
        if not fitting and not line.dropped and line.kind != BREAK:
            line.dropped = OTHER_PART


def _drop_handout(lines: list[Line]) -> int:
    """The course's handout and rule lines; how many were dropped."""
    kept = [line for line in lines if not line.dropped and line.kind != BREAK]
    copied = handout.copied([line.text for line in kept])
    for index, line in enumerate(kept):
        if index in copied:
            line.dropped = HANDOUT_TEXT
        elif _RULE_LINE.search(line.text) or _COURSE_WORD.search(line.text) and not formulas.written(line.text):
            line.dropped = RULES
    return sum(line.dropped in (HANDOUT_TEXT, RULES) for line in kept)


def _level(line: str) -> int:
    """A heading's rank, 1 the highest: `#` count, 2 for "一、", 3 for "1." / "(1)", 4 for bold."""
    marks = len(line) - len(line.lstrip("#"))
    if 0 < marks <= 6:
        return marks
    if re.match(r"^\s*[一二三四五六七八九十]+[、.．]", line):
        return 2
    return 4 if line.lstrip().startswith(("**", "__")) else 3


# ---- what a line gives --------------------------------------------------------------------------

def _named(text: str) -> list[str]:
    """The sections a line names (speaks of); a sentence about the network names the model ("The net is
    Linear(1, 100)-ReLU-Linear(100, 1)"), though a heading that mentions it does not make a model section."""
    label = re.match(r"^[\W\d_]*([^:：]{1,12})[:：]\s*\S", text)  # "数据：[-1, 1] 上 300 个点", "Net: 1-16-1"
    labelled = _heading_names(label.group(1)) if label else []
    return [section for section, pattern in SECTIONS.items()
            if pattern.search(text) or section in labelled or section == MODEL and _MODEL_WORD.search(text)
            or section == RESULT and _RESULT_VERDICT.search(text) and not _ASKED.search(text)]  # a verdict is one


def _heading_names(text: str) -> list[str]:
    """The sections a heading names: by a section's words, or a short heading by one word."""
    short = len(re.sub(r"[\W\d_]|^[一二三四五六七八九十]+", "", text)) <= 8
    return [section for section in SECTIONS
            if short and HEADINGS[section].search(text) or SECTIONS[section].search(text)]


def _function_content(text: str, targets: list[formulas.CodeTarget]) -> tuple[bool, str, int]:
    """Whether a line gives the function: an expression of x that is the one the code fits (when
    that can be told), or the kind of function; else why not (and how near it came, 1 nearest)."""
    written = formulas.written(text)
    if written:
        verdicts = [formulas.same(formula, target) for formula in written for target in targets]
        if not targets or any(v is not False for v in verdicts):
            return True, "", 0
        fitted = "; ".join(dict.fromkeys(formulas.display(target) for target in targets))
        return False, tr("formula differs from the fitted function {fitted}", fitted=fitted), 1
    if formulas.names_weights(text) and not _FUNCTION_KIND.search(text):
        return False, _(_MODEL_FORMULA), 2
    kinds = [token for pattern, token in _KIND_IN_CODE if pattern.search(text)]
    readable = [target for target in targets if formulas.same("x", target) is not None]
    if kinds and readable and not _FUNCTION_MATH.search(text) \
            and not any(token in target.text for token in kinds for target in readable):
        fitted = "; ".join(dict.fromkeys(formulas.display(target) for target in readable))
        return False, tr("the kind of function named differs from the fitted function {fitted}", fitted=fitted), 1
    if _FUNCTION_MATH.search(text) or _FUNCTION_KIND.search(text):
        return True, "", 0
    return False, _(_TASK_AGAIN) if _TASK[FUNCTION].search(text) else _(_WITHOUT[FUNCTION]), 2


def _result_shown(text: str) -> bool:
    """A number, a figure, or a verdict on the fit (not a question about it)."""
    return bool(_RESULT_SHOWN.search(text) or _RESULT_VERDICT.search(text) and not _ASKED.search(text))


def _model_given(text: str) -> bool:
    """Sizes, layers or training; a metric's value ("the model's test MSE is 0.002") is a result, not the loss used."""
    return bool(_MODEL_CONTENT.search(_RESULT_SHOWN.sub(" ", text)))


_CONTENT = {DATA: _DATA_CONTENT.search, MODEL: _model_given, RESULT: _result_shown}


def _content(section: str, text: str, targets: list[formulas.CodeTarget]) -> tuple[bool, str, int]:
    """Whether a line gives the section's content; why not when it does not, and how near it came
    (1 nearest: a formula of another function; 2: a label or the task said again)."""
    if section == FUNCTION:
        return _function_content(text, targets)
    if _CONTENT[section](text):
        return True, "", 0
    return False, _(_TASK_AGAIN) if _TASK[section].search(text) and section != RESULT else _(_WITHOUT[section]), 2


# ---- judging one text ---------------------------------------------------------------------------

@dataclass
class _Heading:
    level: int
    names: list[str]
    line: Line
    given: set[str] = field(default_factory=set)  # sections given under it


@dataclass
class _Found:
    """What one text shows per section: the lines that give it, and the candidates that do not."""

    given: dict[str, list[tuple[Line, str, str]]] = field(default_factory=dict)  # section -> (line, text, caveat)
    # section -> (rank, line, why); rank 1 nearest: a formula of another function; 2 a label or the task under the
    # section's heading; 3 a heading without content; 4 a mention in passing; 5 text that is not the student's
    refused: dict[str, list[tuple[int, Line, str]]] = field(default_factory=dict)

    def give(self, section: str, line: Line, text: str | None = None, caveat: str = "") -> None:
        self.given.setdefault(section, []).append((line, text or line.original or line.text, caveat))

    def refuse(self, section: str, line: Line, why: str, rank: int) -> None:
        self.refused.setdefault(section, []).append((rank, line, why))


def _title(line: Line, document: bool) -> bool:
    """A heading: markdown, bold or numbered, or a short line that only names a section ("拟合效果")."""
    text = line.text
    if line.kind == COMMENT:  # a numbered or banner comment naming a section: "# 1) 目标函数: ...", "# ==== Data ===="
        return bool((_HEADING.match(text) or _BANNER.match(text)) and len(text) <= 60 and _heading_names(text))
    if line.kind != PROSE:
        return False
    if _HEADING.match(text) and len(text) <= 60 and not (document and text.startswith("#")):
        return True
    short = len(re.sub(r"[\W\d_]", "", text)) <= SHORT_TITLE or text.isascii() and len(text.split()) <= 3
    return short and bool(_heading_names(text)) and not any(_content(s, text, [])[0] for s in SECTIONS)


def _after_label(heading: str) -> str:
    """What a heading gives beyond naming its section: the text after its label ("1. 数据：在 [-1, 1] 上"),
    or the heading itself when it holds a number ("## 100 个点的训练集"); else nothing."""
    parts = re.split(r"[:：]", heading, maxsplit=1)
    if len(parts) == 2 and parts[1].strip():
        return parts[1]
    unnumbered = re.sub(r"^[\s#*_(（]*[\d.一二三四五六七八九十]*[.、)）\s]*", "", heading)
    sentence = not heading.lstrip().startswith("#") and len(re.sub(r"[\W\d_]", "", unnumbered)) > SENTENCE
    return heading if re.search(r"\d", unnumbered) or sentence else ""  # a numbered sentence, not a label


def _defined(code: str, targets: list[formulas.CodeTarget]) -> bool:
    """Whether a line of code pasted into a report defines a function of x (`return x ** 3 - 2 * x`)
    that is not another than the one the code fits."""
    formula = formulas.from_code(code)
    return bool(formula) and (not targets or any(formulas.same(formula, t) is not False for t in targets))


def _scan(lines: list[Line], document: bool, targets: list[formulas.CodeTarget]) -> _Found:
    """Sections one text gives: a line of the student's that names a section, or stands under a
    heading that names it, and gives its content. Comments of code count under a heading (markdown, or a
    numbered or banner comment), docstrings anywhere; a stored output (a figure, a printed number)
    counts as a result under a heading that names the result, or in a cell whose comment names what
    was measured."""
    found, stack, measured = _Found(), [], set()

    def close(level: int) -> None:
        while stack and stack[-1].level >= level:
            heading = stack.pop()
            for section in heading.names:
                if section not in heading.given:
                    found.refuse(section, heading.line, _(_BARE_HEADING), 3)

    for line in lines:
        if line.kind == BREAK or not line.text:
            continue
        context = next((h for h in reversed(stack) if h.names), None)
        if line.dropped == PASTED_CODE and context and FUNCTION in context.names and _defined(line.text, targets):
            found.give(FUNCTION, line)  # the report shows the function's definition as code
            context.given.add(FUNCTION)
            continue
        if line.dropped:
            for section in _named(line.text):
                found.refuse(section, line, _(line.dropped), 5)
            continue
        if line.kind == SHOWN:
            if context and RESULT in context.names or line.cell in measured:
                found.give(RESULT, line, tr("output: {shown}", shown=line.text))
                if context:
                    context.given.add(RESULT)
            continue
        heading = _title(line, document)
        if heading:
            close(_level(line.text))
            stack.append(_Heading(_level(line.text), _heading_names(line.text), line))
            context = stack[-1] if stack[-1].names else context
        if line.kind == COMMENT and not stack and not line.doc or _OTHER_PARTS.search(line.text):
            continue  # code comments are a report only under a heading; Parts 1-3 are no report of the fit
        named = _named(line.text)
        if line.kind == COMMENT and RESULT in named and _MEASURED.search(line.text):
            measured.add(line.cell)
        candidates = [s for s in SECTIONS if s in named or context and s in context.names]
        for section in candidates:
            text = _after_label(line.text) if heading and section != FUNCTION else line.text
            given, why, rank = _content(section, text, targets) if text else (False, _(_BARE_HEADING), 3)
            caveat = ""
            if not given and document and (_LOST.search(line.text) or section == RESULT and _CAPTION.search(line.text)):
                given, caveat = True, _(_NOT_EXTRACTED)
            if given:
                found.give(section, line, caveat=caveat)
                for open_heading in stack:
                    open_heading.given.add(section)
            elif not heading or section not in _heading_names(line.text):
                passing = rank == 2 and not (context and section in context.names)  # named in passing, elsewhere
                found.refuse(section, line, why, 4 if passing else rank)
            elif _after_label(line.text):  # words after the heading's label that do not give it ("4) 结果: 打印 MSE")
                found.refuse(section, line, why, rank)
    close(0)
    return found


def judge(texts: list[ReportText], targets: list[formulas.CodeTarget] | None = None) -> ReportVerdict:
    """Which sections the student's own report text covers, over every place it may be, with the
    evidence for each (the line that earned it, or the nearest candidate and why it did not count)."""
    targets = list(targets or [])
    given: dict[str, list[tuple[str, Line, str]]] = {}
    refused: dict[str, list[tuple[int, str, Line, str]]] = {}
    used, set_aside, chars = [], [], 0
    for source in texts:
        base = source.name.rsplit("/", 1)[-1]
        lines = _lines(source.text)
        notebook = any(line.kind == BREAK for line in lines)
        document = source.name.lower().endswith(DOCUMENT_SUFFIXES)
        _drop_code(lines, document)
        _drop_proofs(lines, notebook)
        _drop_other_parts(lines, source.anywhere)
        rules = _drop_handout(lines)
        own = [line for line in lines if not line.dropped and line.kind != BREAK]
        size = sum(len(re.sub(r"\s", "", line.text)) for line in own)
        found = _scan(lines, document, targets)
        where = source.file or source.name
        for section, items in found.refused.items():
            refused.setdefault(section, []).extend((rank, where, line, why) for rank, line, why in items)
        if rules >= 3 and (not size or _HANDOUT_NAME.match(base) and not found.given):
            set_aside.append(source.name)
            continue
        if not size or _PROOF.search(base) and not notebook or source.comments and not found.given:
            continue
        used.append(source.name)
        chars += size
        for section, items in found.given.items():
            given.setdefault(section, []).extend((where, line, text, caveat) for line, text, caveat in items)
    return _verdict(given, refused, used, set_aside, chars)


def _verdict(given: dict, refused: dict, used: list[str], set_aside: list[str], chars: int) -> ReportVerdict:
    """The verdict and its evidence, one item per section."""
    sections, evidence = {}, []
    for section in SECTIONS:
        if section in given:
            items = given[section]
            where, line, text, caveat = next((item for item in items if not item[3]), items[0])
            short = len(items) == 1 and len(re.sub(r"\s", "", text)) < SHORT_EVIDENCE
            item = Evidence(section, True, f"{where}, {line.place}", _trim(text), caveat, short or bool(caveat),
                            *_located(where, line))
            sections[section] = f"{item.where}: {item.text!r}"
        elif section in refused:
            rank, where, line, why = min(refused[section], key=lambda entry: entry[0])
            item = Evidence(section, False, f"{where}, {line.place}", _trim(line.original or line.text), why, False,
                            *_located(where, line))
        else:
            item = Evidence(section, False, "", "", _("nothing in the report names it"))
        evidence.append(item)
    return ReportVerdict(sections, used, set_aside, chars, evidence)


def _located(file: str, line: Line) -> tuple[str, int, int]:
    """(file, line, cell) of a line, as a program reads them."""
    return file, 0 if line.position else line.number, line.position


def _trim(text: str, size: int = 100) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= size else text[:size - 1] + "…"
