"""Part 4 hand-ins of my own, in the styles real ones use, good and broken (see homework.md, Part 4).

Each variant is a folder's files and the checks it must pass (True) or fail (False); checks it
does not name must pass. Used by tests/test_fitting.py and reference/calibrate_fitting.py.
Training is kept to a few seconds each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.checks.fitting import CHECKS

REPORT_ZH = """# 函数拟合实验报告

## 函数定义
我选择的目标函数是 $f(x) = \\sin(x)$，定义在区间 $[-\\pi, \\pi]$ 上。

## 数据采集
训练集用 np.linspace 在区间上均匀取 200 个点，测试集用 np.random.uniform 随机采样 50 个点，两者互不相同。

## 模型描述
两层 ReLU 网络：输入 1 维，隐藏层 50 个神经元（ReLU 激活），输出 1 维；反向传播手写，学习率 0.01，训练 4000 轮。

## 拟合效果
训练结束时 loss 约为 0.0004，测试集上的预测曲线与 sin(x) 几乎重合，见下图。
"""

REPORT_EN = """# Function fitting

**Target function.** I fit f(x) = x**2 - 0.5 * x on the interval [-2, 2].

**Data collection.** 400 training points drawn uniformly at random on the interval; a separate test set of
100 points from np.linspace.

**Model.** A two-layer network: Linear(1, 64), ReLU, Linear(64, 1), trained with Adam (lr 0.01) for 800 epochs.

**Result.** The final training loss is about 0.001 and the test MSE is similar; the plot shows the prediction
on top of the true curve.
"""



def report_zh(function: str, interval: str) -> str:
    """REPORT_ZH for another target function (LaTeX): a report must define the function its code fits."""
    return REPORT_ZH.replace("$f(x) = \\sin(x)$，定义在区间 $[-\\pi, \\pi]$", f"${function}$，定义在区间 ${interval}$")


def report_en(function: str, interval: str) -> str:
    """REPORT_EN for another target function: a report must define the function its code fits."""
    return REPORT_EN.replace("f(x) = x**2 - 0.5 * x on the interval [-2, 2]", f"{function} on the interval {interval}")


# The course's own README, as most hand-ins still contain it: the four sections as rules, no report.
HANDOUT = """# 作业二：函数拟合

理论和实验证明，一个两层的 ReLU 网络可以模拟任何函数。请自行定义一个函数，并使用基于 ReLU 的神经网络来拟合此函数。

## 要求
- 请自行在函数上采集样本点构成训练集和测试集；
- 使用基于 ReLU 的神经网络拟合函数；可以使用 TensorFlow 或 PyTorch 等框架；
- 使用 NumPy 手写实现可获得额外加分（最多 5 分）。

## 提交
- 代码需有清晰的注释（5 分）；
- 报告至少包含：函数定义、数据采集、模型描述、拟合效果（5 分）。
- 截止日期：见课程网站，请按时提交。
"""

NUMPY_FUNCTIONAL = '''"""Fit sin(x) on [-pi, pi] with a two-layer ReLU network written in NumPy (hand-written backward)."""
import numpy as np
import matplotlib.pyplot as plt

np.random.seed(1)


def f(x):
    """The target function."""
    return np.sin(x)


# training set on a grid, test set drawn at random: two different samples
x_train = np.linspace(-np.pi, np.pi, 200).reshape(-1, 1)
y_train = f(x_train)
x_test = np.random.uniform(-np.pi, np.pi, (50, 1))
y_test = f(x_test)

# parameters: 1 -> 50 (ReLU) -> 1; biases spread the kinks over the interval
W1 = np.random.randn(1, 50)
b1 = np.random.uniform(-np.pi, np.pi, 50)
W2 = np.random.randn(50, 1) * 0.1
b2 = np.zeros(1)


def forward(x):
    """Prediction of the network for inputs x of shape (N, 1)."""
    return np.maximum(0, x @ W1 + b1) @ W2 + b2


LEARNING_RATE = {lr}
for epoch in range({epochs}):
    # forward pass, keeping what backward needs
    pre = x_train @ W1 + b1
    hidden = np.maximum(0, pre)
    out = hidden @ W2 + b2
    loss = np.mean((out - y_train) ** 2)
    # backward pass by hand: chain rule through the output layer, the ReLU and the first layer
    d_out = 2 * (out - y_train) / len(x_train)
    dW2 = hidden.T @ d_out
    db2 = d_out.sum(axis=0)
    d_hidden = (d_out @ W2.T) * (pre > 0)
    dW1 = x_train.T @ d_hidden
    db1 = d_hidden.sum(axis=0)
    # gradient descent step
    W1 -= LEARNING_RATE * dW1
    b1 -= LEARNING_RATE * db1
    W2 -= LEARNING_RATE * dW2
    b2 -= LEARNING_RATE * db2
    if epoch % 1000 == 0:
        print("epoch", epoch, "loss", loss)

# the fit on the test set
print("test mse", np.mean((forward(x_test) - y_test) ** 2))
plt.plot(x_train, y_train, label="sin(x)")
plt.plot(x_test, forward(x_test), ".", label="prediction")
plt.legend()
plt.show()
'''

TORCH_MODULE = '''# %% [markdown]
# PyTorch: fit x**2 - 0.5 x on [-2, 2] with Linear -> ReLU -> Linear
import numpy as np
import torch
from torch import nn
import matplotlib.pyplot as plt


def target_function(x):
    # the function to fit
    return x ** 2 - 0.5 * x


# %%
# data: uniform random training points, a separate linspace test set
x_train = torch.rand(400, 1) * 4 - 2
y_train = target_function(x_train)
x_test = torch.linspace(-2, 2, 100).reshape(-1, 1)
y_test = target_function(x_test)


class Net(nn.Module):
    """Two-layer network: {hidden} hidden units{activation_note}."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential({layers})

    def forward(self, x):
        # one forward pass
        return self.layers(x)


# %%
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.MSELoss()
for epoch in range({epochs}):
    # one full-batch step
    optimizer.zero_grad()
    loss = loss_fn(model(x_train), y_train)
    loss.backward()
    optimizer.step()
    if epoch % 200 == 0:
        print(epoch, loss.item())

# %%
# evaluate on the test set and plot
with torch.no_grad():
    y_pred = model(x_test)
print("test loss", loss_fn(y_pred, y_test).item())
plt.plot(x_test.numpy(), y_test.numpy(), label="truth")
plt.plot(x_test.numpy(), y_pred.numpy(), label="model")
plt.legend()
plt.show()
'''

# The seed student's style: three targets, np functions applied to tensors, a train() that keeps
# its data local, one model per function, no test set.
TORCH_SEED_STYLE = '''import numpy as np
import torch
import torch.nn as nn
import matplotlib.pyplot as plt


class myModel3(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(myModel3, self).__init__()
        self.layer1 = nn.Linear(input_size, hidden_size)
        self.layer2 = nn.Linear(hidden_size, output_size)
        self.relu = nn.ReLU()
        self.learning_rate = 1e-2

    def forward(self, x):
        h1 = self.layer1(x)
        h1_relu = self.relu(h1)
        h2 = self.layer2(h1_relu)
        return h2


def train(fun, model, epochs=600):
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=model.learning_rate)
    x_train = torch.linspace(-3, 3, 100).view(-1, 1)
    y_train = fun(x_train)
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(x_train)
        loss = criterion(outputs, y_train)
        loss.backward()
        optimizer.step()
    return x_train, y_train, model


def fun1(x):
    return np.sin(x)


def fun2(x):
    return np.sin(x) * np.sin(x) + 0.3 * x ** 3 + 2


def fun3(x):
    return x ** 4 / 10 - x ** 2 + 1


funs = [fun1, fun2, fun3]
results = []
for fun in funs:
    model = myModel3(1, 100, 1)
    x_train, y_train, trained_network = train(fun, model)
    y_pred = trained_network(x_train)
    results.append((x_train, y_train, y_pred))

for x_train, y_train, y_pred in results:
    plt.plot(x_train, y_train.detach().numpy())
    plt.plot(x_train, y_pred.detach().numpy())
plt.show()
'''

KERAS_MAIN = '''"""Keras: fit x + sin(2x) on [-3, 3]; everything lives in main(), as a script."""
import numpy as np
import tensorflow as tf


def main():
    # data: noisy training samples, a separate clean test grid
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, 300).astype("float32")
    y = x + np.sin(2 * x) + rng.normal(0, 0.02, x.shape)
    x_test = np.linspace(-3, 3, 80).astype("float32")
    y_test = x_test + np.sin(2 * x_test)
    # model: Dense(64, {activation}) -> Dense(1)
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)),
                                 tf.keras.layers.Dense(64, activation="{activation}"),
                                 tf.keras.layers.Dense(64, activation="{activation}"),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    # training
    model.fit(x.reshape(-1, 1), y.reshape(-1, 1), epochs={epochs}, batch_size=64, verbose=0)
    print("test mse", model.evaluate(x_test.reshape(-1, 1), y_test.reshape(-1, 1), verbose=0))


if __name__ == "__main__":
    main()
'''

NUMPY_PARAMS = '''import numpy as np

# fit |x| - 1 with a functional NumPy network whose parameters live in a dict
def init(hidden):
    rng = np.random.default_rng(0)
    return {"W1": rng.normal(size=(1, hidden)), "b1": rng.uniform(-2, 2, hidden),
            "W2": rng.normal(size=(hidden, 1)) * 0.1, "b2": np.zeros(1)}

def predict(X, params):
    # forward pass: ReLU hidden layer, linear output
    return np.maximum(0, X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]

def gradients(X, Y, params):
    # backward pass written by hand
    pre = X @ params["W1"] + params["b1"]
    hidden = np.maximum(0, pre)
    d_out = 2 * (hidden @ params["W2"] + params["b2"] - Y) / len(X)
    d_hidden = (d_out @ params["W2"].T) * (pre > 0)
    return {"W1": X.T @ d_hidden, "b1": d_hidden.sum(0), "W2": hidden.T @ d_out, "b2": d_out.sum(0)}

X = np.linspace(-2, 2, 150).reshape(-1, 1)
Y = np.abs(X) - 1
X_val = np.random.default_rng(1).uniform(-2, 2, (40, 1))
params = init(40)
for step in range(3000):
    grads = gradients(X, Y, params)
    for key in params:
        params[key] -= 0.05 * grads[key]
print("validation mse", np.mean((predict(X_val, params) - (np.abs(X_val) - 1)) ** 2))
'''

NUMPY_CLASS = '''import numpy as np

target = lambda x: np.exp(-x ** 2) * 3  # the function to fit: a bump

# 1-D data: 300 points, a random fifth held out as the test set
x = np.linspace(-3, 3, 300)
y = target(x)
order = np.random.default_rng(0).permutation(300)
x_train, y_train = x[order[60:]], y[order[60:]]
x_test, y_test = x[order[:60]], y[order[:60]]


class TwoLayerReLU:
    """1 -> hidden (ReLU) -> 1, on 1-D inputs; backward is written by hand."""

    def __init__(self, hidden=40, seed=0):
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(size=hidden)
        self.b1 = rng.uniform(-3, 3, hidden)
        self.w2 = rng.normal(size=hidden) * 0.1
        self.b2 = 0.0

    def forward(self, x):
        # keep the pre-activation for backward
        self.x = x
        self.pre = np.outer(x, self.w1) + self.b1
        self.h = np.maximum(self.pre, 0)
        return self.h @ self.w2 + self.b2

    def backward(self, grad_out, lr):
        # gradients of the mean squared error, then one step
        grad_h = np.outer(grad_out, self.w2) * (self.pre > 0)
        self.w2 -= lr * self.h.T @ grad_out
        self.b2 -= lr * grad_out.sum()
        self.w1 -= lr * (grad_h * self.x[:, None]).sum(0)
        self.b1 -= lr * grad_h.sum(0)


net = TwoLayerReLU()
for epoch in range(3000):
    out = net.forward(x_train)
    net.backward(2 * (out - y_train) / len(x_train), lr=0.02)
print("test mse", np.mean((net.forward(x_test) - y_test) ** 2))
'''

TF_TAPE = '''import numpy as np
import tensorflow as tf

# data as plain Python lists: f(x) = x ** 3 on [-1, 1]
xs = [i / 50 - 1 for i in range(101)]
ys = [v ** 3 for v in xs]
x_test = np.random.uniform(-1, 1, 30)

# weights of a 1 -> 32 -> 1 ReLU network
W1 = tf.Variable(tf.random.normal([1, 32]))
b1 = tf.Variable(tf.random.uniform([32], -1, 1))
W2 = tf.Variable(tf.random.normal([32, 1]) * 0.1)
b2 = tf.Variable(tf.zeros([1]))


def model(x):
    # forward pass with tf ops
    return tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2


optimizer = tf.keras.optimizers.Adam(0.02)
X = tf.constant(np.array(xs, dtype="float32").reshape(-1, 1))
Y = tf.constant(np.array(ys, dtype="float32").reshape(-1, 1))
for step in range(600):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(X) - Y) ** 2)
    grads = tape.gradient(loss, [W1, b1, W2, b2])
    optimizer.apply_gradients(zip(grads, [W1, b1, W2, b2]))
print("final loss", float(loss))
'''

# The style of a popular Chinese PyTorch tutorial: unsqueezed linspace, noisy y = x.pow(2) + noise,
# F.relu in forward, plt.ion() with pauses, no test set and no report.
TORCH_TUTORIAL = '''import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt

torch.manual_seed(1)    # reproducible

x = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)  # x data (tensor), shape=(100, 1)
y = x.pow(2) + 0.2 * torch.rand(x.size())                 # noisy y data (tensor), shape=(100, 1)


class Net(torch.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super(Net, self).__init__()
        self.hidden = torch.nn.Linear(n_feature, n_hidden)   # hidden layer
        self.predict = torch.nn.Linear(n_hidden, n_output)   # output layer

    def forward(self, x):
        x = F.relu(self.hidden(x))      # activation function for hidden layer
        x = self.predict(x)             # linear output
        return x


net = Net(n_feature=1, n_hidden=10, n_output=1)     # define the network
optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
loss_func = torch.nn.MSELoss()  # this is for regression mean squared loss

plt.ion()   # something about plotting
for t in range(300):
    prediction = net(x)     # input x and predict based on x
    loss = loss_func(prediction, y)     # must be (1. nn output, 2. target)
    optimizer.zero_grad()   # clear gradients for next train
    loss.backward()         # backpropagation, compute gradients
    optimizer.step()        # apply gradients
    if t % 100 == 0:
        # plot and show learning process
        plt.cla()
        plt.scatter(x.data.numpy(), y.data.numpy())
        plt.plot(x.data.numpy(), prediction.data.numpy(), 'r-', lw=5)
        plt.pause(0.1)
plt.ioff()
plt.show()
'''


@dataclass
class Variant:
    """A hand-in folder's files and what it must get."""

    files: dict[str, str]
    failing: set[str] = field(default_factory=set)  # check names that must fail; the others must pass
    needs_torch: bool = False
    human: set[str] = field(default_factory=set)  # checks that must be flagged needs_human

    def grade(self, grader: object, folder: Path) -> tuple[dict, object]:
        """Grade this hand-in's Part 4 and assert it gets what it must: exactly `failing` fail, exactly
        `human` go to a human, and no grader error. Returns ({check name: check}, result)."""
        result = grader.grade(self.write(folder), {"function_fitting"})
        checks = {c.id.split(".", 1)[1]: c for c in result.checks}
        assert sorted(checks) == sorted(CHECKS)
        wrong = {n: c.message for n, c in checks.items() if c.passed == (n in self.failing)}
        assert not wrong, wrong
        assert {n for n, c in checks.items() if c.needs_human} == self.human, {n: c.message for n, c in checks.items()}
        assert not result.internal_errors
        return checks, result

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return folder


def notebook(cells: list[tuple[str, str]]) -> str:
    """A minimal nbformat-4 notebook of (cell type, source) pairs."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": source, **({"outputs": [], "execution_count": None}
                                                               if kind == "code" else {})}
        for kind, source in cells]})


def _torch(hidden: int = 64, relu: bool = True, epochs: int = 800, activation: str = "ReLU") -> str:
    middle = f"nn.{activation}(), " if relu else ""
    layers = f"nn.Linear(1, {hidden}), {middle}nn.Linear({hidden}, 1)"
    return TORCH_MODULE.format(hidden=hidden, layers=layers, epochs=epochs,
                               activation_note=f", {activation} between" if relu else "")


def _numpy(lr: float = 0.01, epochs: int = 4000) -> str:
    return NUMPY_FUNCTIONAL.format(lr=lr, epochs=epochs)


def _uncommented(code: str) -> str:
    lines = [line for line in code.splitlines() if not line.strip().startswith("#")]
    text = "\n".join(line.split("  #")[0] for line in lines)
    return text.replace('"""Fit sin(x) on [-pi, pi] with a two-layer ReLU network written in NumPy (hand-written backward)."""', "") \
        .replace('    """The target function."""\n', "").replace('    """Prediction of the network for inputs x of shape (N, 1)."""\n', "")


def _notebook_of_script(code: str, report: str | None = None) -> str:
    cells = [("markdown", report)] if report else []
    return notebook(cells + [("code", chunk) for chunk in code.split("\n\n\n") if chunk.strip()])


VARIANTS: dict[str, Variant] = {
    # good fits, each framework and style
    "numpy_script_report_md": Variant({"fit_relu.py": _numpy(), "report.md": REPORT_ZH, "README.md": HANDOUT}),
    "numpy_notebook_markdown_report": Variant({"函数拟合.ipynb": _notebook_of_script(_numpy(), REPORT_ZH)}),
    "numpy_params_dict_no_report": Variant({"chap4/relu_fit.py": NUMPY_PARAMS, "chap4/README.md": HANDOUT},
                                           failing={"report"}),
    "torch_module_report_en": Variant({"function_fitting.ipynb": _notebook_of_script(_torch(), REPORT_EN)},
                                      failing={"numpy_bonus"}, needs_torch=True),
    "torch_seed_style_no_test_set": Variant({"fit.py": TORCH_SEED_STYLE, "report.md": report_en("y = sin(x)", "[-3, 3]")},
                                            failing={"test_set", "comments", "numpy_bonus"}, needs_torch=True),
    "keras_main_inline_target": Variant({"keras_fit.py": KERAS_MAIN.format(activation="relu", epochs=60),
                                         "README.md": report_en("y = x + sin(2x)", "[-3, 3]")}, failing={"numpy_bonus"}),
    # broken ones: each loses the points of its fault and no others
    "numpy_untrained": Variant({"fit_relu.py": _numpy(epochs=0), "report.md": REPORT_ZH},
                               failing={"fit", "numpy_bonus"}),
    "numpy_diverged": Variant({"fit_relu.py": _numpy(lr=3.0, epochs=300), "report.md": REPORT_ZH},
                              failing={"fit", "numpy_bonus"}),
    "numpy_no_comments": Variant({"fit_relu.py": _uncommented(_numpy()), "report.md": REPORT_ZH},
                                 failing={"comments"}),
    "numpy_handout_only": Variant({"fit_relu.py": _numpy(), "README.md": HANDOUT}, failing={"report"}),
    "torch_no_relu": Variant({"fit.ipynb": _notebook_of_script(_torch(relu=False), REPORT_EN)},
                             failing={"relu", "fit", "numpy_bonus"}, needs_torch=True),
    "torch_claims_numpy_bonus": Variant({"fit.ipynb": _notebook_of_script(_torch().replace(
        "import numpy as np\n", "import numpy as np  # pure NumPy implementation (bonus)\n"), REPORT_EN)},
        failing={"numpy_bonus"}, needs_torch=True),
    "keras_tanh": Variant({"keras_fit.py": KERAS_MAIN.format(activation="tanh", epochs=60),
                           "README.md": report_en("y = x + sin(2x)", "[-3, 3]")},
                          failing={"relu", "numpy_bonus"}),
    "numpy_class_1d_lambda_target": Variant({"fitting/main.py": NUMPY_CLASS, "fitting/report.md": REPORT_ZH}),
    "tf_tape_python_lists": Variant({"relu_fit.py": TF_TAPE, "report.md": REPORT_EN}, failing={"numpy_bonus"}),
    "numpy_beside_torch_earns_the_bonus": Variant({"fit_torch.ipynb": _notebook_of_script(_torch(), REPORT_EN),
                                                   "fit_numpy.py": _numpy()}, needs_torch=True),
    # the split needs a package dlgrade lacks, so y_train is never made and training fails: not
    # the student's fault, so the fit goes to a human
    "missing_package_breaks_training": Variant({"fit_relu.py": _numpy().replace("y_train = f(x_train)\n", "").replace(
        "x_test = np.random.uniform(-np.pi, np.pi, (50, 1))",
        "from dlgrade_absent_sklearn import train_test_split\n"
        "x_train, x_test, y_train, y_test = train_test_split(x_train, f(x_train))"), "report.md": REPORT_ZH},
        failing={"fit", "numpy_bonus"}, human={"fit"}),
    "numpy_math_sin_target": Variant({"fit_relu.py": _numpy().replace("import numpy as np\n", "import math\nimport numpy as np\n")
                                      .replace("return np.sin(x)", "return math.sin(x)")
                                      .replace("y_train = f(x_train)", "y_train = np.array([[f(v)] for v in x_train[:, 0]])")
                                      .replace("y_test = f(x_test)", "y_test = np.array([[f(v)] for v in x_test[:, 0]])"),
                                      "report.md": REPORT_ZH}),
    "torch_needs_a_gpu": Variant({"fit.ipynb": _notebook_of_script(_torch().replace("model = Net()", "model = Net().cuda()"),
                                                                   REPORT_EN)},
                                 failing={"runs", "fit", "numpy_bonus"}, human={"runs", "fit"}, needs_torch=True),
    "torch_tutorial_style": Variant({"301_regression.py": TORCH_TUTORIAL},
                                    failing={"test_set", "report", "numpy_bonus"}, needs_torch=True),
    "nothing": Variant({"notes.md": "nothing here yet"},
                       failing={"runs", "test_set", "relu", "fit", "comments", "report", "numpy_bonus"}),
}
