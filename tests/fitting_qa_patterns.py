"""Part 4 hand-ins written by an independent tester (issue 28), each a good version and a broken twin.

Their styles differ from tests/fitting_variants.py and the first lot of tests/fitting_real_patterns.py:
a Keras Normalization layer, a prediction helper that standardises inside, a NumPy estimator with
fit/predict that scales internally, a GradientTape model returned by a function, argparse in a main
guard, a shuffled linspace split by slicing with a lambda target, (x, x²) features, pinyin names,
y divided by a constant, in-place standardisation, and a NumPy piece beside a PyTorch one.
Each twin loses the fit (untrained, no ReLU, or a wrong way back to raw units).
"""

from __future__ import annotations

from tests.fitting_variants import Variant, notebook


def report(function: str, interval: str, model: str, chinese: bool = False) -> str:
    """A four-section report that matches the code it sits beside."""
    if chinese:
        return (f"# 实验报告\n\n## 函数定义\n目标函数 {function}，区间 {interval}。\n\n"
                f"## 数据采集\n在区间上随机采样训练集，另取一组不同的点作为测试集。\n\n"
                f"## 模型描述\n{model}\n\n## 拟合效果\n测试集上的预测与真实曲线几乎重合，测试误差很小。\n")
    return (f"# Report\n\n## Function\nI fit {function} on {interval}.\n\n"
            f"## Data\nTraining points are drawn at random on the interval; the test points are a separate draw.\n\n"
            f"## Model\n{model}\n\n## Result\nThe test error is small and the predicted curve lies on the true one.\n")


KERAS_NORMALIZATION = '''"""Keras: fit f(x) = sin(x) + 0.3 x on [-3, 3].

A Normalization layer adapted on x scales the input."""
import numpy as np
from tensorflow import keras


def f(x):
    """The function to fit."""
    return np.sin(x) + 0.3 * x


# data: 400 uniform training points, 100 test points from another draw
rng = np.random.default_rng(7)
x_train = rng.uniform(-3, 3, (400, 1)).astype("float32")
y_train = f(x_train)
x_test = rng.uniform(-3, 3, (100, 1)).astype("float32")
y_test = f(x_test)

# the Normalization layer learns the mean and variance of x: the Dense layers see standardised input
norm = keras.layers.Normalization(axis=-1)
norm.adapt(x_train)
model = keras.Sequential([keras.Input(shape=(1,)), norm,
                          keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
model.fit(x_train, y_train, epochs=EPOCHS, batch_size=40, verbose=0)

# evaluate on the test points
y_pred = model.predict(x_test, verbose=0)
print("test MSE", float(np.mean((y_pred - y_test) ** 2)))
'''

TORCH_PREDICT_HELPER = [
    ("markdown", report("sin(2x) + 0.5 x", "[0, 4]", "Linear(1, 64), ReLU, Linear(64, 64), ReLU, Linear(64, 1); "
                        "x is standardised with the training mean and std.")),
    ("code", "import torch\nfrom torch import nn\n\ntorch.manual_seed(0)\n\n\n"
             "def target(x):\n    # the function to fit on [0, 4]\n    return torch.sin(2 * x) + 0.5 * x\n\n\n"
             "# training points at random, test points on a grid\n"
             "x_train = torch.rand(400, 1) * 4\ny_train = target(x_train)\n"
             "x_test = torch.linspace(0.05, 3.95, 97).reshape(-1, 1)\ny_test = target(x_test)\n"
             "# standardise x with the training statistics (tensors)\n"
             "x_mean = torch.mean(x_train)\nx_std = torch.std(x_train)"),
    ("code", "net = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))\n"
             "opt = torch.optim.Adam(net.parameters(), lr=0.01)\n"
             "for step in range(EPOCHS):\n    # one full-batch step on the standardised inputs\n"
             "    loss = ((net((x_train - x_mean) / x_std) - y_train) ** 2).mean()\n"
             "    opt.zero_grad()\n    loss.backward()\n    opt.step()"),
    ("code", "def predict(model, x):\n    \"\"\"The model's answer at raw x.\"\"\"\n    with torch.no_grad():\n"
             "        return model(INPUT)\n\n\n"
             "y_pred = predict(net, x_test)\nprint('test MSE', ((y_pred - y_test) ** 2).mean().item())"),
]

NUMPY_ESTIMATOR = '''"""两层 ReLU 网络拟合 f(x) = x sin(x)，x 在 [2, 12]：一个带 fit/predict 的 NumPy 回归器，内部标准化。"""
import numpy as np


class ReluRegressor:
    """fit 内部把 x 和 y 标准化，predict 内部再还原到原来的单位。"""

    def __init__(self, hidden=64, lr=0.01, epochs=3000, seed=0):
        rng = np.random.default_rng(seed)
        self.w1 = rng.normal(0, 1, (1, hidden))
        self.b1 = rng.uniform(-2, 2, (1, hidden))
        self.w2 = rng.normal(0, 0.1, (hidden, 1))
        self.b2 = np.zeros((1, 1))
        self.lr, self.epochs = lr, epochs

    def _forward(self, xs):
        # 隐藏层 + 激活
        self.z = xs @ self.w1 + self.b1
        self.h = ACTIVATION
        return self.h @ self.w2 + self.b2

    def fit(self, x, y):
        # 记录标准化参数
        self.mx, self.sx = x.mean(), x.std()
        self.my, self.sy = y.mean(), y.std()
        xs, ys = (x - self.mx) / self.sx, (y - self.my) / self.sy
        state = [np.zeros_like(p) for p in (self.w1, self.b1, self.w2, self.b2)]
        square = [np.zeros_like(p) for p in state]
        for t in range(1, self.epochs + 1):
            # 手写反向传播 + Adam
            g = 2 * (self._forward(xs) - ys) / len(xs)
            dz = (g @ self.w2.T) * MASK
            grads = [xs.T @ dz, dz.sum(0, keepdims=True), self.h.T @ g, g.sum(0, keepdims=True)]
            for i, (p, d) in enumerate(zip((self.w1, self.b1, self.w2, self.b2), grads)):
                state[i] = 0.9 * state[i] + 0.1 * d
                square[i] = 0.999 * square[i] + 0.001 * d * d
                p -= self.lr * (state[i] / (1 - 0.9 ** t)) / (np.sqrt(square[i] / (1 - 0.999 ** t)) + 1e-8)
        return self

    def predict(self, x):
        # 先标准化，再还原
        return self._forward((x - self.mx) / self.sx) * self.sy + self.my


def f(x):
    return x * np.sin(x)


# 训练集与测试集
rng = np.random.default_rng(3)
x_train = rng.uniform(2, 12, (300, 1))
x_test = rng.uniform(2, 12, (80, 1))
model = ReluRegressor().fit(x_train, f(x_train))
y_pred = model.predict(x_test)
print("测试集 MSE:", float(np.mean((y_pred - f(x_test)) ** 2)))
'''

TF_TAPE_FACTORY = '''"""TensorFlow: fit g(x) = |x| - 0.5 x on [-2, 2].

The weights are tf.Variables made and trained inside a function that returns the model."""
import numpy as np
import tensorflow as tf


def g(x):
    """Target function."""
    return np.abs(x) - 0.5 * x


def build_and_train(x, y, hidden=32, steps=STEPS, lr=0.05):
    """Create the weights, train them by gradient descent with GradientTape, return the model."""
    w1 = tf.Variable(tf.random.normal([1, hidden], seed=1))
    b1 = tf.Variable(tf.random.uniform([hidden], -1.0, 1.0, seed=2))
    w2 = tf.Variable(tf.random.normal([hidden, 1], stddev=0.1, seed=3))
    b2 = tf.Variable(tf.zeros([1]))
    variables = [w1, b1, w2, b2]

    def model(inputs):
        # hidden ReLU layer, linear output
        return tf.nn.relu(inputs @ w1 + b1) @ w2 + b2

    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        for v, grad in zip(variables, tape.gradient(loss, variables)):
            v.assign_sub(lr * grad)
    return model


# training and test data
np.random.seed(0)
x_tr = np.random.uniform(-2, 2, (256, 1)).astype("float32")
x_te = np.random.uniform(-2, 2, (64, 1)).astype("float32")
net = build_and_train(tf.constant(x_tr), tf.constant(g(x_tr)))
pred = net(tf.constant(x_te)).numpy()
print("test MSE", float(np.mean((pred - g(x_te)) ** 2)))
'''

ARGPARSE_MAIN = '''"""Fit y = x^3 + x on [-1, 1] with a two-layer ReLU network (NumPy), run as `python fit_cli.py`."""
import argparse

import numpy as np


def parse_args():
    """Command-line options; the defaults are the settings of the report."""
    parser = argparse.ArgumentParser(description="ReLU network fitting x^3 + x")
    parser.add_argument("--hidden", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--lr", type=float, default=0.1)
    return parser.parse_args()


def target(x):
    return x ** 3 + x


def forward(params, x):
    # returns the output and the hidden pre-activation (for the backward pass)
    z = x @ params["W1"] + params["b1"]
    return np.maximum(z, 0) @ params["W2"] + params["b2"], z


def main():
    args = parse_args()
    rng = np.random.default_rng(0)
    # data
    x_train = rng.uniform(-1, 1, (200, 1))
    y_train = target(x_train)
    x_test = rng.uniform(-1, 1, (50, 1))
    y_test = target(x_test)
    params = {"W1": rng.normal(0, 1, (1, args.hidden)), "b1": rng.uniform(-1, 1, args.hidden),
              "W2": rng.normal(0, 0.1, (args.hidden, 1)), "b2": np.zeros(1)}
    for epoch in range(args.epochs):
        # full-batch gradient descent, backward pass by hand
        out, z = forward(params, x_train)
        d_out = 2 * (out - y_train) / len(x_train)
        h = np.maximum(z, 0)
        dz = (d_out @ params["W2"].T) * (z > 0)
        params["W2"] -= args.lr * h.T @ d_out
        params["b2"] -= args.lr * d_out.sum(0)
        params["W1"] -= args.lr * x_train.T @ dz
        params["b1"] -= args.lr * dz.sum(0)
    y_pred, _ = forward(params, x_test)
    print("test MSE:", float(np.mean((y_pred - y_test) ** 2)))


if __name__ == "__main__":
    main()
'''

SHUFFLED_LINSPACE = [
    ("markdown", report("sin(2x) + 0.1 x^2", "[-3, 3]", "NumPy: 1 -> 64 (ReLU) -> 1, mini-batch SGD with a "
                        "hand-written backward pass.")),
    ("code", "import numpy as np\n\n# target as a lambda\nf = lambda x: np.sin(2 * x) + 0.1 * x ** 2\n\n"
             "# a grid, shuffled, then split by slicing: 320 for training, 80 for testing\n"
             "xs = np.linspace(-3, 3, 400).reshape(-1, 1)\nrng = np.random.default_rng(1)\n"
             "xs = xs[rng.permutation(len(xs))]\nx_train, x_test = xs[:320], xs[320:]\n"
             "y_train, y_test = f(x_train), f(x_test)"),
    ("code", "# weights in a list: [W1, b1, W2, b2]\nweights = [rng.normal(0, 1, (1, 64)), rng.uniform(-3, 3, 64),\n"
             "           rng.normal(0, 0.1, (64, 1)), np.zeros(1)]\n\n\n"
             "def forward(x, w):\n    pre = x @ w[0] + w[1]\n    return ACTIVATION @ w[2] + w[3], pre\n\n\n"
             "def backward(x, y, w, lr):\n    # gradient of the mean squared error, by hand\n"
             "    out, pre = forward(x, w)\n    g = 2 * (out - y) / len(x)\n    hidden = ACTIVATION\n"
             "    dpre = (g @ w[2].T) * MASK\n"
             "    for p, d in zip(w, (x.T @ dpre, dpre.sum(0), hidden.T @ g, g.sum(0))):\n        p -= lr * d"),
    ("code", "for epoch in range(EPOCHS):\n    # mini-batches of 32\n    order = rng.permutation(len(x_train))\n"
             "    for i in range(0, len(order), 32):\n        batch = order[i:i + 32]\n"
             "        backward(x_train[batch], y_train[batch], weights, 0.01)\n\n"
             "y_hat, _ = forward(x_test, weights)\nprint('test MSE', float(np.mean((y_hat - y_test) ** 2)))"),
]

TWO_D_FEATURES = '''"""PyTorch: fit h(x) = x cos(3x) on [-1.5, 1.5]; the network's input is the pair (x, x^2)."""
import numpy as np
import torch
from torch import nn

torch.manual_seed(1)


def h(x):
    return x * np.cos(3 * x)


def features(x):
    """Two input columns built from x: x and x squared."""
    return torch.cat([x, x ** 2], dim=1)


# data as float32 tensors
x_train = torch.tensor(np.random.default_rng(2).uniform(-1.5, 1.5, (300, 1)), dtype=torch.float32)
y_train = torch.tensor(h(x_train.numpy()))
x_test = torch.tensor(np.random.default_rng(5).uniform(-1.5, 1.5, (60, 1)), dtype=torch.float32)
y_test = h(x_test.numpy())

# two inputs -> 64 ReLU units -> 1
net = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
for epoch in range(EPOCHS):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(net(features(x_train)), y_train)
    loss.backward()
    optimizer.step()

# prediction at the test points
y_pred = net(features(x_test)).detach().numpy()
print("test MSE", float(np.mean((y_pred - y_test) ** 2)))
'''

PINYIN_NOTEBOOK = [
    ("markdown", report("f(x) = 2 sin(x) + x", "[-4, 4]", "NumPy 两层网络：1 -> 60 (ReLU) -> 1，手写反向传播，"
                        "学习率 0.002，训练 6000 轮。", chinese=True)),
    ("code", "import numpy as np\n\n# 目标函数\ndef mubiao_hanshu(x):\n    return 2 * np.sin(x) + x\n\n\n"
             "# 采样：训练集（shuru_xunlian）与测试集（shuru_ceshi）\nnp.random.seed(4)\n"
             "shuru_xunlian = np.random.uniform(-4, 4, (300, 1))\nshuchu_xunlian = mubiao_hanshu(shuru_xunlian)\n"
             "shuru_ceshi = np.random.uniform(-4, 4, (80, 1))\nshuchu_ceshi = mubiao_hanshu(shuru_ceshi)"),
    ("markdown", "## 网络（WangLuo）\n前向 qianxiang，反向 fanxiang。"),
    ("code", "class WangLuo:\n    def __init__(self, yincang):\n        # 权重初始化\n"
             "        self.quanzhong1 = np.random.randn(1, yincang)\n"
             "        self.pianzhi1 = np.random.uniform(-4, 4, (1, yincang))\n"
             "        self.quanzhong2 = np.random.randn(yincang, 1) * 0.1\n        self.pianzhi2 = np.zeros((1, 1))\n\n"
             "    def qianxiang(self, shuru):\n        # 前向传播\n        self.shuru = shuru\n"
             "        self.z = shuru @ self.quanzhong1 + self.pianzhi1\n        self.jihuo = ACTIVATION\n"
             "        return self.jihuo @ self.quanzhong2 + self.pianzhi2\n\n"
             "    def fanxiang(self, wucha, xuexilv):\n        # 反向传播：均方误差的梯度\n"
             "        g = 2 * wucha / len(wucha)\n        dz = (g @ self.quanzhong2.T) * MASK\n"
             "        self.quanzhong2 -= xuexilv * self.jihuo.T @ g\n        self.pianzhi2 -= xuexilv * g.sum(0)\n"
             "        self.quanzhong1 -= xuexilv * self.shuru.T @ dz\n        self.pianzhi1 -= xuexilv * dz.sum(0)"),
    ("code", "# 训练\nmoxing = WangLuo(60)\nfor lunci in range(6000):\n"
             "    wucha = moxing.qianxiang(shuru_xunlian) - shuchu_xunlian\n    moxing.fanxiang(wucha, 0.002)\n\n"
             "# 测试\nyuce = moxing.qianxiang(shuru_ceshi)\nprint('测试误差', float(np.mean((yuce - shuchu_ceshi) ** 2)))"),
]

Y_OVER_TEN = [
    ("markdown", report("f(x) = 5x^2 + 3", "[-3, 3]", "PyTorch：Linear(1, 64)、ReLU、Linear(64, 1)；y 先除以 10 再训练，"
                        "预测时乘回 10。", chinese=True)),
    ("code", "import numpy as np\nimport torch\n\n# 目标函数与数据\ndef f(x):\n    return 5 * x ** 2 + 3\n\n\n"
             "torch.manual_seed(0)\nx_train = torch.rand(300, 1) * 6 - 3\n"
             "y_train = f(x_train) / 10  # y 缩小 10 倍再训练\nx_test = torch.rand(60, 1) * 6 - 3\ny_test = f(x_test)"),
    ("code", "# 模型与训练\nnet = torch.nn.Sequential(torch.nn.Linear(1, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))\n"
             "opt = torch.optim.Adam(net.parameters(), lr=0.01)\nfor epoch in range(800):\n"
             "    loss = torch.mean((net(x_train) - y_train) ** 2)\n    opt.zero_grad()\n    loss.backward()\n"
             "    opt.step()"),
    ("code", "# 预测：放大回原来的单位\ny_pred = net(x_test).detach().numpy()SCALE_BACK\n"
             "print('测试 MSE', float(np.mean((y_pred - y_test.numpy()) ** 2)))"),
]

IN_PLACE_STANDARDISED = '''"""Fit t(x) = exp(x / 3) + sin(x) on [0, 6] (NumPy).

x and y are standardised in place before training;
the test inputs are standardised in place too, and the prediction is brought back to raw units."""
import numpy as np


def t(x):
    return np.exp(x / 3) + np.sin(x)


rng = np.random.default_rng(11)
x = rng.uniform(0, 6, (300, 1))
y = t(x)
x_test = rng.uniform(0, 6, (70, 1))
y_test = t(x_test)

# standardise in place, with the training statistics
mx, sx = x.mean(), x.std()
my, sy = y.mean(), y.std()
x = (x - mx) / sx
y = (y - my) / sy

# 1 -> 50 (ReLU) -> 1
W1 = rng.normal(0, 1, (1, 50))
b1 = rng.uniform(-2, 2, 50)
W2 = rng.normal(0, 0.1, (50, 1))
b2 = np.zeros(1)


def net(inputs):
    return np.maximum(inputs @ W1 + b1, 0) @ W2 + b2


for step in range(4000):
    # gradient descent on the squared error, backward by hand
    z = x @ W1 + b1
    g = 2 * (np.maximum(z, 0) @ W2 + b2 - y) / len(x)
    dz = (g @ W2.T) * (z > 0)
    W2 -= 0.05 * np.maximum(z, 0).T @ g
    b2 -= 0.05 * g.sum(0)
    W1 -= 0.05 * x.T @ dz
    b1 -= 0.05 * dz.sum(0)

# the test inputs are standardised in place as well, then the prediction goes back to raw units
x_test = (x_test - mx) / sx
y_pred = BACK
print("test MSE", float(np.mean((y_pred - y_test) ** 2)))
'''

NUMPY_AND_TORCH_BOTH_FIT = [
    ("markdown", report("f(x) = |x| + 0.5 x", "[-2, 2]", "第一部分：NumPy 网络，隐藏层 32 个 ReLU 神经元，手写反向传播；"
                        "第二部分：同样结构的网络用 PyTorch 实现，Adam 优化。", chinese=True)),
    ("code", "import numpy as np\nimport torch\n\n\ndef f(x):\n    return np.abs(x) + 0.5 * x\n\n\n"
             "# 数据\nrng = np.random.default_rng(0)\nx_train = rng.uniform(-2, 2, (300, 1))\n"
             "y_train = f(x_train)\nx_test = rng.uniform(-2, 2, (60, 1))\ny_test = f(x_test)"),
    ("markdown", "## 一、NumPy 实现"),
    ("code", "# 参数\nW1 = rng.normal(0, 1, (1, 32))\nb1 = rng.uniform(-1, 1, 32)\nW2 = rng.normal(0, 0.1, (32, 1))\n"
             "b2 = np.zeros(1)\n\nfor step in range(NUMPY_STEPS):\n    # 前向\n    z = x_train @ W1 + b1\n"
             "    h = np.maximum(z, 0)\n    g = 2 * (h @ W2 + b2 - y_train) / len(x_train)\n"
             "    # 手写反向传播\n    dz = (g @ W2.T) * (z > 0)\n    W2 -= 0.05 * h.T @ g\n    b2 -= 0.05 * g.sum(0)\n"
             "    W1 -= 0.05 * x_train.T @ dz\n    b1 -= 0.05 * dz.sum(0)\n\n"
             "y_np = np.maximum(x_test @ W1 + b1, 0) @ W2 + b2\n"
             "print('NumPy 测试 MSE', float(np.mean((y_np - y_test) ** 2)))"),
    ("markdown", "## 二、PyTorch 实现"),
    ("code", "torch.manual_seed(0)\nnet = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.ReLU(), "
             "torch.nn.Linear(32, 1))\nopt = torch.optim.Adam(net.parameters(), lr=0.01)\n"
             "xt, yt = torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train, dtype=torch.float32)\n"
             "for step in range(TORCH_STEPS):\n    loss = torch.mean((net(xt) - yt) ** 2)\n    opt.zero_grad()\n"
             "    loss.backward()\n    opt.step()\n\n"
             "with torch.no_grad():\n    y_torch = net(torch.tensor(x_test, dtype=torch.float32)).numpy()\n"
             "print('PyTorch 测试 MSE', float(np.mean((y_torch - y_test) ** 2)))"),
]


def _cells(cells: list[tuple[str, str]], **fill: str) -> str:
    """The notebook of `cells` with each placeholder replaced."""
    out = []
    for kind, text in cells:
        for key, value in fill.items():
            text = text.replace(key, value)
        out.append((kind, text))
    return notebook(out)


def _fill(text: str, **fill: str) -> str:
    for key, value in fill.items():
        text = text.replace(key, value)
    return text


KERAS_REPORT = report("f(x) = sin(x) + 0.3 x", "[-3, 3]", "Keras: Normalization, Dense(64, relu), Dense(1); Adam.")
TF_REPORT = report("g(x) = |x| - 0.5 x", "[-2, 2]", "TensorFlow tf.Variables: 1 -> 32 (ReLU) -> 1, gradient descent.")
CLI_REPORT = report("y = x^3 + x", "[-1, 1]", "NumPy: 1 -> 40 (ReLU) -> 1, full-batch gradient descent, "
                    "hand-written backward pass.")
ESTIMATOR_REPORT = report("f(x) = x sin(x)", "[2, 12]", "NumPy 回归器：1 -> 64 (ReLU) -> 1，手写反向传播与 Adam。",
                          chinese=True)
FEATURES_REPORT = report("h(x) = x cos(3x)", "[-1.5, 1.5]", "PyTorch: inputs (x, x^2) -> 64 ReLU units -> 1, Adam.")
IN_PLACE_REPORT = report("t(x) = exp(x / 3) + sin(x)", "[0, 6]", "NumPy: 1 -> 50 (ReLU) -> 1, x and y standardised.")
RELU, RELU_MASK = "np.maximum(self.z, 0)", "(self.z > 0)"

QA_VARIANTS: dict[str, Variant] = {
    "qa_keras_normalization_layer": Variant({"keras_norm.py": KERAS_NORMALIZATION.replace("EPOCHS", "60"),
                                             "report.md": KERAS_REPORT}, failing={"numpy_bonus"}),
    "qa_keras_normalization_layer_untrained": Variant({"keras_norm.py": KERAS_NORMALIZATION.replace("EPOCHS", "0"),
                                                       "report.md": KERAS_REPORT}, failing={"fit", "numpy_bonus"}),
    "qa_torch_predict_helper_standardises": Variant({"fit_helper.ipynb": _cells(
        TORCH_PREDICT_HELPER, EPOCHS="700", INPUT="(x - x_mean) / x_std")}, failing={"numpy_bonus"}, needs_torch=True),
    "qa_torch_predict_helper_forgets_to_standardise": Variant({"fit_helper.ipynb": _cells(
        TORCH_PREDICT_HELPER, EPOCHS="700", INPUT="x")}, failing={"fit", "numpy_bonus"}, needs_torch=True),
    "qa_numpy_estimator_scales_inside": Variant({"regressor.py": _fill(NUMPY_ESTIMATOR, ACTIVATION=RELU,
                                                                       MASK=RELU_MASK), "报告.md": ESTIMATOR_REPORT}),
    "qa_numpy_estimator_no_relu": Variant({"regressor.py": _fill(NUMPY_ESTIMATOR, ACTIVATION="self.z", MASK="1"),
                                           "报告.md": ESTIMATOR_REPORT}, failing={"relu", "fit", "numpy_bonus"}),
    "qa_tf_tape_model_from_a_function": Variant({"tape_fit.py": TF_TAPE_FACTORY.replace("STEPS", "1500"),
                                                 "README.md": TF_REPORT}, failing={"numpy_bonus"}),
    "qa_tf_tape_model_from_a_function_untrained": Variant({"tape_fit.py": TF_TAPE_FACTORY.replace("STEPS", "0"),
                                                           "README.md": TF_REPORT}, failing={"fit", "numpy_bonus"}),
    "qa_argparse_main_guard": Variant({"fit_cli.py": ARGPARSE_MAIN.replace("EPOCHS", "3000"),
                                       "report.md": CLI_REPORT}),
    "qa_argparse_main_guard_untrained": Variant({"fit_cli.py": ARGPARSE_MAIN.replace("EPOCHS", "0"),
                                                 "report.md": CLI_REPORT}, failing={"fit", "numpy_bonus"}),
    "qa_shuffled_linspace_lambda_target": Variant({"shuffle_split.ipynb": _cells(
        SHUFFLED_LINSPACE, EPOCHS="1000", ACTIVATION="np.maximum(pre, 0)", MASK="(pre > 0)")}),
    "qa_shuffled_linspace_no_relu": Variant({"shuffle_split.ipynb": _cells(
        SHUFFLED_LINSPACE, EPOCHS="1000", ACTIVATION="pre", MASK="1")}, failing={"relu", "fit", "numpy_bonus"}),
    "qa_torch_x_and_x_squared_features": Variant({"features.py": TWO_D_FEATURES.replace("EPOCHS", "600"),
                                                  "report.md": FEATURES_REPORT}, failing={"numpy_bonus"},
                                                 needs_torch=True),
    "qa_torch_x_and_x_squared_features_untrained": Variant({"features.py": TWO_D_FEATURES.replace("EPOCHS", "0"),
                                                            "report.md": FEATURES_REPORT},
                                                           failing={"fit", "numpy_bonus"}, needs_torch=True),
    "qa_pinyin_names_chinese_notebook": Variant({"拟合作业.ipynb": _cells(
        PINYIN_NOTEBOOK, ACTIVATION="np.maximum(self.z, 0)", MASK="(self.z > 0)")}),
    "qa_pinyin_names_no_relu": Variant({"拟合作业.ipynb": _cells(PINYIN_NOTEBOOK, ACTIVATION="self.z", MASK="1")},
                                       failing={"relu", "fit", "numpy_bonus"}),
    "qa_y_divided_by_ten_and_multiplied_back": Variant({"缩放.ipynb": _cells(Y_OVER_TEN, SCALE_BACK=" * 10")},
                                                       failing={"numpy_bonus"}, needs_torch=True),
    "qa_y_divided_by_ten_never_multiplied_back": Variant({"缩放.ipynb": _cells(Y_OVER_TEN, SCALE_BACK="")},
                                                         failing={"fit", "numpy_bonus"}, needs_torch=True),
    "qa_in_place_standardised_then_raw_units": Variant({"inplace.py": IN_PLACE_STANDARDISED.replace(
        "BACK", "net(x_test) * sy + my"), "report.md": IN_PLACE_REPORT}),
    "qa_in_place_standardised_wrong_way_back": Variant({"inplace.py": IN_PLACE_STANDARDISED.replace(
        "BACK", "net(x_test) * sy"), "report.md": IN_PLACE_REPORT}, failing={"fit", "numpy_bonus"}),
    "qa_numpy_and_torch_pieces_both_fit": Variant({"两种实现.ipynb": _cells(
        NUMPY_AND_TORCH_BOTH_FIT, NUMPY_STEPS="3000", TORCH_STEPS="800")}, needs_torch=True),
    "qa_numpy_piece_untrained_beside_torch": Variant({"两种实现.ipynb": _cells(
        NUMPY_AND_TORCH_BOTH_FIT, NUMPY_STEPS="0", TORCH_STEPS="800")}, failing={"numpy_bonus"}, needs_torch=True),
}

# Misjudged by dlgrade today (found by this tester, cause known, not yet fixed): each stays a strict xfail,
# so the day it is fixed the test says so and the mark must go.
KNOWN_MISJUDGED = {
    "qa_pinyin_names_chinese_notebook": "data and model found by name only: arrays named shuru_ceshi and a method "
                                        "qianxiang are not recognised (test_set fails, fit goes to a human)",
    "qa_pinyin_names_no_relu": "the same: the test set shuru_ceshi is not recognised",
}
