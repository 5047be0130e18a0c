"""Part 4 hand-ins of my own, each written in a pattern a real class showed (issue 22), good and broken.

None is copied from a real hand-in: each reproduces the *shape* of a pattern (a file name, where
the model lives, how the student predicts, how the report is kept) with code of my own. Used by
tests/test_fitting_real.py; each trains in a few seconds.
"""

from __future__ import annotations

from tests.fitting_variants import HANDOUT, REPORT_ZH, Variant, notebook, report_en, report_zh

# ---- where the code is -----------------------------------------------------------------------

# a PyTorch notebook whose model class is called myModel, like the MNIST notebooks' own class
TORCH_MYMODEL = [
    ("markdown", report_en("f(x) = |x| - 1", "[-2, 2]")),
    ("code", "import numpy as np\nimport torch\nfrom torch import nn\nimport matplotlib.pyplot as plt"),
    ("code", "# the function to fit, sampled on a grid (training) and at random (test)\n"
             "def f(x):\n    return np.abs(x) - 1\n\n"
             "torch.manual_seed(3)\n"
             "x = torch.linspace(-2, 2, 300).reshape(-1, 1)\ny = f(x)\n"
             "x_test = torch.rand(80, 1) * 4 - 2\ny_test = f(x_test)"),
    ("code", "class myModel(nn.Module):\n    # Linear -> ReLU -> Linear\n"
             "    def __init__(self, hidden):\n        super().__init__()\n"
             "        self.fc1 = nn.Linear(1, hidden)\n        self.fc2 = nn.Linear(hidden, 1)\n\n"
             "    def forward(self, x):\n        return self.fc2(torch.relu(self.fc1(x)))"),
    ("code", "net = myModel(64)\noptimizer = torch.optim.Adam(net.parameters(), lr=0.01)\nloss = nn.MSELoss()\n"
             "for epoch in range(600):\n    # one full-batch step of Adam on the mean squared error\n"
             "    l = loss(net(x), y)\n    optimizer.zero_grad()\n    l.backward()\n    optimizer.step()"),
    ("code", "y_hat = net(x_test)\nplt.plot(x_test.numpy(), y_hat.detach().numpy(), '.')\nplt.show()"),
]

# NumPy, in a notebook named function_fit, with layer classes called Relu and Matmul-like myModel
NUMPY_LAYER_CLASSES = '''import numpy as np


class Relu:
    """ReLU layer: forward keeps the input, backward masks the gradient."""

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, np.zeros_like(x))

    def backward(self, grad_y):
        return np.where(self.x > 0, grad_y, 0)


class myModel:
    """1 -> 40 (ReLU) -> 1, trained by hand-written backpropagation."""

    def __init__(self):
        self.relu = Relu()
        self.w1 = np.random.randn(1, 40)
        self.b1 = np.random.uniform(-3, 3, (1, 40))
        self.w2 = np.random.randn(40, 1) * 0.1
        self.b2 = np.zeros((1, 1))

    def forward(self, x):
        self.h = x @ self.w1 + self.b1
        self.a = self.relu.forward(self.h)
        return self.a @ self.w2 + self.b2

    def step(self, x, y, lr):
        # gradient of the mean squared error, layer by layer
        out = self.forward(x)
        d_out = 2 * (out - y) / len(x)
        dw2 = self.a.T @ d_out
        d_h = self.relu.backward(d_out @ self.w2.T)
        dw1 = x.T @ d_h
        self.w2 -= lr * dw2
        self.b2 -= lr * d_out.sum(0, keepdims=True)
        self.w1 -= lr * dw1
        self.b1 -= lr * d_h.sum(0, keepdims=True)


def target_function(x):
    return np.cos(x)


np.random.seed(0)
# training and test sets: two different uniform samples of [-3, 3]
x_train = np.random.uniform(-3, 3, (300, 1))
y_train = target_function(x_train)
x_test = np.random.uniform(-3, 3, (60, 1))
y_test = target_function(x_test)
model = myModel()
for epoch in range(3000):
    model.step(x_train, y_train, 0.02)
predictions = model.forward(x_test)
print("test mse", float(np.mean((predictions - y_test) ** 2)))
'''

# TensorFlow in a copy of the MNIST exercise notebook: a tf.Module and the notebook's train_one_step name
TF_EXERCISE_COPY = [
    ("code", "import tensorflow as tf\nimport numpy as np\n\n"
             "def my_func(x):\n    return np.sin(2 * x) + x\n\n"
             "class my_model(tf.Module):\n"
             "    def __init__(self):\n"
             "        self.W1 = tf.Variable(tf.random.uniform([1, 64], -1.0, 1.0))\n"
             "        self.b1 = tf.Variable(tf.random.uniform([64], -2.0, 2.0))\n"
             "        self.W2 = tf.Variable(tf.random.uniform([64, 1], -0.1, 0.1))\n"
             "        self.b2 = tf.Variable(tf.zeros([1]))\n\n"
             "    def __call__(self, x):\n"
             "        return tf.matmul(tf.nn.relu(tf.matmul(x, self.W1) + self.b1), self.W2) + self.b2\n\n"
             "@tf.function\n"
             "def train_one_step(model, optimizer, x, y):\n"
             "    with tf.GradientTape() as tape:\n"
             "        loss = tf.reduce_mean(tf.square(model(x) - y))\n"
             "    grads = tape.gradient(loss, [model.W1, model.b1, model.W2, model.b2])\n"
             "    optimizer.apply_gradients(zip(grads, [model.W1, model.b1, model.W2, model.b2]))\n"
             "    return loss\n\n"
             "model = my_model()\noptimizer = tf.optimizers.Adam(learning_rate=0.01)\n"
             "x = tf.cast(tf.linspace(-2.0, 2.0, 200)[:, tf.newaxis], tf.float32)\ny = my_func(x)\n"
             "for epoch in range(800):\n    loss = train_one_step(model, optimizer, x, y)\n"),
]

# ---- what the student predicts with --------------------------------------------------------

# a one-argument relu(x) helper and the real model: forward(x, params), predicted inside main()
NUMPY_HELPER_AND_PARAMS = '''"""Fit x**3 / 4 on [-2, 2] with a ReLU network in NumPy."""
import numpy as np


def target_function(x):
    return x ** 3 / 4


def relu(z):
    return np.maximum(0, z)


def relu_grad(z):
    return (z > 0).astype(float)


def init_params(hidden):
    rng = np.random.default_rng(1)
    return {"W1": rng.normal(size=(1, hidden)), "b1": rng.uniform(-2, 2, hidden),
            "W2": rng.normal(size=(hidden, 1)) * 0.1, "b2": np.zeros(1)}


def forward(x, params):
    return relu(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]


def train(x, y, params, epochs, lr):
    for epoch in range(epochs):
        z = x @ params["W1"] + params["b1"]
        h = relu(z)
        out = h @ params["W2"] + params["b2"]
        d_out = 2 * (out - y) / len(x)
        d_z = (d_out @ params["W2"].T) * relu_grad(z)
        params["W2"] -= lr * h.T @ d_out
        params["b2"] -= lr * d_out.sum(0)
        params["W1"] -= lr * x.T @ d_z
        params["b1"] -= lr * d_z.sum(0)
    return params


def main():
    x_train = np.linspace(-2, 2, 400).reshape(-1, 1)
    y_train = target_function(x_train)
    x_test = np.random.default_rng(7).uniform(-2, 2, (80, 1))
    y_test = target_function(x_test)
    params = train(x_train, y_train, init_params(60), 3000, 0.05)
    y_pred = forward(x_test, params)
    print("test mse", float(np.mean((y_pred - y_test) ** 2)))


if __name__ == "__main__":
    main()
'''

# the forward pass written out statement by statement where the student predicts, in a notebook
NUMPY_INLINE_FORWARD = [
    ("code", "import numpy as np\n\ndef f(x):\n    return np.sin(x) + x\n\n"
             "np.random.seed(0)\nx_train = np.linspace(-4, 4, 200).reshape(-1, 1)\ny_train = f(x_train)"),
    ("code", "def relu(x):\n    return np.maximum(0, x)\n\n"
             "W1 = np.random.randn(1, 60)\nb1 = np.random.uniform(-4, 4, (1, 60))\n"
             "W2 = np.random.randn(60, 1) * 0.1\nb2 = np.zeros((1, 1))"),
    ("code", "for epoch in range(3000):\n    z1 = x_train @ W1 + b1\n    a1 = relu(z1)\n    out = a1 @ W2 + b2\n"
             "    g = 2 * (out - y_train) / len(x_train)\n    gW2 = a1.T @ g\n    gz = (g @ W2.T) * (z1 > 0)\n"
             "    gW1 = x_train.T @ gz\n    W2 -= 0.003 * gW2\n    b2 -= 0.003 * g.sum(0)\n"
             "    W1 -= 0.003 * gW1\n    b1 -= 0.003 * gz.sum(0)"),
    ("code", "x_test = np.linspace(-4, 4, 333).reshape(-1, 1)\nz1_test = x_test @ W1 + b1\na1_test = relu(z1_test)\n"
             "z2_test = a1_test @ W2 + b2\ny_test_pred = z2_test\nprint(float(np.mean((y_test_pred - f(x_test)) ** 2)))"),
]

# trained on normalised x (x / 5), predicting with the normalisation in the call
NUMPY_NORMALISED = '''import numpy as np


def target_function(x):
    return 0.3 * x ** 2 + x


class Net:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.W1 = rng.normal(size=(1, 50))
        self.b1 = rng.uniform(-1, 1, 50)
        self.W2 = rng.normal(size=(50, 1)) * 0.1
        self.b2 = np.zeros(1)

    def predict(self, x):
        return np.maximum(0, x @ self.W1 + self.b1) @ self.W2 + self.b2

    def fit(self, x, y, epochs, lr):
        for epoch in range(epochs):
            z = x @ self.W1 + self.b1
            h = np.maximum(0, z)
            g = 2 * (h @ self.W2 + self.b2 - y) / len(x)
            gz = (g @ self.W2.T) * (z > 0)
            self.W2 -= lr * h.T @ g
            self.b2 -= lr * g.sum(0)
            self.W1 -= lr * x.T @ gz
            self.b1 -= lr * gz.sum(0)


rng = np.random.default_rng(3)
x_raw = rng.uniform(-5, 5, (400, 1))
y_train = target_function(x_raw)
x_train = x_raw / 5  # inputs scaled to [-1, 1] for training
x_test = rng.uniform(-5, 5, (100, 1))
y_test = target_function(x_test)
net = Net()
net.fit(x_train, y_train, 4000, 0.02)
y_pred = net.predict(x_test / 5)
print("test mse", float(np.mean((y_pred - y_test) ** 2)))
'''

KERAS2_LEGACY = '''import numpy as np
import tensorflow as tf

x = np.linspace(-3, 3, 400).reshape(-1, 1)
y = np.sin(x)
model = tf.keras.Sequential([tf.keras.layers.Dense(64, input_dim=1, activation="relu"), tf.keras.layers.Dense(1)])
model.compile(loss="mse", optimizer=tf.keras.optimizers.legacy.Adam(learning_rate=0.01))
model.fit(x, y, epochs=120, batch_size=64, verbose=0)
x_test = np.random.uniform(-3, 3, (100, 1))
y_pred = model.predict(x_test, verbose=0)
'''

# ---- the fit must come from the network ------------------------------------------------------

NUMPY_TIMES_ZERO = NUMPY_LAYER_CLASSES.replace(
    "        return self.a @ self.w2 + self.b2",
    "        return np.cos(x) + 0 * (self.a @ self.w2 + self.b2)")

NUMPY_LOOKUP = '''import numpy as np


def f(x):
    return np.sin(x)


x_train = np.linspace(-3, 3, 2000).reshape(-1, 1)
y_train = f(x_train)
x_test = np.random.uniform(-3, 3, (50, 1))


class Lookup:
    """Answers with the training point nearest to x: no network at all."""

    def predict(self, x):
        index = np.abs(x.reshape(-1, 1) - x_train.reshape(1, -1)).argmin(axis=1)
        return y_train.reshape(-1)[index].reshape(-1, 1)


relu = np.maximum(0, x_train)  # a ReLU, nowhere used
model = Lookup()
y_pred = model.predict(x_test)
'''

# ---- measured whatever comes after training ----------------------------------------------------

AFTER_TRAINING = [
    ("code", "import numpy as np\nimport matplotlib.pyplot as plt\n\ndef f(x):\n    return np.sin(x)\n\n"
             "np.random.seed(0)\nx_train = np.linspace(-3, 3, 200).reshape(-1, 1)\ny_train = f(x_train)\n"
             "x_test = np.random.uniform(-3, 3, (50, 1))\n"
             "W1 = np.random.randn(1, 50)\nb1 = np.random.uniform(-3, 3, 50)\nW2 = np.random.randn(50, 1) * 0.1\n"
             "b2 = np.zeros(1)\n\ndef forward(x):\n    return np.maximum(0, x @ W1 + b1) @ W2 + b2"),
    ("code", "for epoch in range(3000):\n    pre = x_train @ W1 + b1\n    hidden = np.maximum(0, pre)\n"
             "    d_out = 2 * (hidden @ W2 + b2 - y_train) / len(x_train)\n    dW2 = hidden.T @ d_out\n"
             "    d_hidden = (d_out @ W2.T) * (pre > 0)\n    W1 -= 0.01 * x_train.T @ d_hidden\n"
             "    b1 -= 0.01 * d_hidden.sum(0)\n    W2 -= 0.01 * dW2\n    b2 -= 0.01 * d_out.sum(0)"),
    ("code", "for i in range(200000):\n    print('flood', i, 'of printed output after training')"),
    ("code", "plt.plot(x_test, forward(x_test), undefined_style='.')\nplt.show()"),
    ("code", "import time\nwhile True:  # an animation that never ends\n    plt.plot(x_train, forward(x_train))\n"
             "    plt.close('all')\n    time.sleep(0.01)"),
]

# ---- the report --------------------------------------------------------------------------------

COS_ZH = report_zh("f(x) = \\cos(x)", "[-3, 3]")  # the function NUMPY_LAYER_CLASSES and NUMPY_TIMES_ZERO fit
DOCSTRING_REPORT = '"""' + report_en("f(x) = cos(x)", "[-3, 3]") + '"""\n' + NUMPY_LAYER_CLASSES

OWN_SECTIONS = "\n\n# 我的报告\n\n## 函数定义\n我拟合的是 f(x) = cos(x)，区间 [-3, 3]。\n\n## 数据集\n训练集 300 个均匀随机点，测试集另取 60 个。\n"

VARIANTS: dict[str, Variant] = {
    "torch_mymodel_named_notebook": Variant({"function-fitting.ipynb": notebook(TORCH_MYMODEL)},
                                            failing={"numpy_bonus"}, needs_torch=True),
    "numpy_layer_classes_function_fit": Variant({"function_fit.ipynb": notebook(
        [("markdown", COS_ZH)] + [("code", NUMPY_LAYER_CLASSES)])}),
    "tf_module_in_exercise_copy": Variant({"tutorial_minst_fnn-tf2.0-exercise_func.ipynb": notebook(TF_EXERCISE_COPY),
                                           "README.md": HANDOUT},
                                          failing={"test_set", "comments", "report", "numpy_bonus"}),
    "numpy_relu_helper_and_params": Variant({"relu_fit.py": NUMPY_HELPER_AND_PARAMS,
                                             "report.md": report_en("f(x) = x^3 / 4", "[-2, 2]")},
                                            failing={"comments"}),
    "numpy_inline_forward_cells": Variant({"universal_approximation.ipynb": notebook(NUMPY_INLINE_FORWARD),
                                           "report.md": report_zh("f(x) = \\sin x + x", "[-3, 3]")}, failing={"comments"}),
    "numpy_normalised_domain": Variant({"fit.py": NUMPY_NORMALISED, "report.md": report_zh("f(x) = 0.3x^2 + x", "[-5, 5]")},
                                       failing={"comments"}),
    "numpy_times_zero_network": Variant({"fit.py": NUMPY_TIMES_ZERO, "report.md": COS_ZH},
                                        failing={"fit", "numpy_bonus"}),
    "numpy_lookup_table": Variant({"fit.py": NUMPY_LOOKUP, "report.md": REPORT_ZH},
                                  failing={"fit", "numpy_bonus"}, human={"fit"}),
    "report_in_a_module_docstring": Variant({"fit_relu.py": DOCSTRING_REPORT, "README.md": HANDOUT}),
    "report_appended_to_the_handout": Variant({"fit_relu.py": NUMPY_LAYER_CLASSES, "README.md": HANDOUT + OWN_SECTIONS},
                                              failing={"report"}),
}
