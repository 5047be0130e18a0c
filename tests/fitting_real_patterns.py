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

# ---- the student's own path to a prediction (issue 28) ----------------------------------------
# Each good one has a broken twin nearby: the same path, a model that does not fit.

# x min-max scaled to [0, 1] before training, the test points scaled the same way on the way in
# (a NumPy script, Chinese comments); `epochs` 0 is the twin: rescaled but untrained
NUMPY_MINMAX = """\"\"\"用两层 ReLU 网络拟合 f(x) = x^2 * sin(x)，x 先归一化到 [0, 1]（NumPy 手写反向传播）。\"\"\"
import numpy as np
import matplotlib.pyplot as plt

np.random.seed(7)


def f(x):
    # 目标函数
    return x ** 2 * np.sin(x)


# 训练集：均匀随机 300 个点；测试集：等间距 80 个点
x_train = np.random.uniform(-3, 3, (300, 1))
y_train = f(x_train)
x_test = np.linspace(-3, 3, 80).reshape(-1, 1)
y_test = f(x_test)

# 归一化：用训练集的最小值和最大值把 x 缩放到 [0, 1]
x_min, x_max = x_train.min(), x_train.max()
x_train_n = (x_train - x_min) / (x_max - x_min)
x_test_n = (x_test - x_min) / (x_max - x_min)

# 参数：1 -> 64 -> 1，偏置让拐点落在 [0, 1] 内
W1 = np.random.randn(1, 64) * 3
b1 = -W1[0] * np.random.uniform(0, 1, 64)
W2 = np.random.randn(64, 1) * 0.1
b2 = np.zeros(1)


def forward(x):
    # 前向传播
    return np.maximum(0, x @ W1 + b1) @ W2 + b2


# 训练：Adam，手写梯度
params = [W1, b1, W2, b2]
m = [np.zeros_like(p) for p in params]
v = [np.zeros_like(p) for p in params]
for epoch in range(1, {epochs} + 1):
    z = x_train_n @ W1 + b1
    h = np.maximum(0, z)
    g_out = 2 * (h @ W2 + b2 - y_train) / len(x_train_n)  # 损失对输出的梯度
    g_z = (g_out @ W2.T) * (z > 0)
    grads = [x_train_n.T @ g_z, g_z.sum(0), h.T @ g_out, g_out.sum(0)]
    for i, (p, g) in enumerate(zip(params, grads)):
        m[i] = 0.9 * m[i] + 0.1 * g
        v[i] = 0.999 * v[i] + 0.001 * g * g
        p -= 0.02 * (m[i] / (1 - 0.9 ** epoch)) / (np.sqrt(v[i] / (1 - 0.999 ** epoch)) + 1e-8)

# 测试集上的预测与误差
y_pred = forward(x_test_n)
print("测试集 MSE:", np.mean((y_pred - y_test) ** 2))
plt.plot(x_test, y_test, label="f(x)")
plt.plot(x_test, y_pred, "--", label="预测")
plt.legend()
plt.show()
"""

# x and y standardised with scikit-learn (fit_transform, transform, inverse_transform); PyTorch in a
# notebook, the prediction made inside `with torch.no_grad():`
TORCH_SCALERS = [
    ("markdown", report_en("f(x) = 3 exp(-x^2 / 2) + 0.5x", "[-5, 5]")),
    ("code", "import numpy as np\nimport torch\nfrom torch import nn\nimport matplotlib.pyplot as plt\n"
             "from sklearn.preprocessing import StandardScaler"),
    ("code", "# the target, and its samples: 500 for training, 100 for testing, on [-5, 5]\n"
             "def func(x):\n    return 3 * np.exp(-x ** 2 / 2) + 0.5 * x\n\n"
             "rng = np.random.default_rng(1)\nx = rng.uniform(-5, 5, (500, 1))\ny = func(x)\n"
             "x_test = rng.uniform(-5, 5, (100, 1))\ny_test = func(x_test)"),
    ("code", "# standardise inputs and outputs\nscaler_x, scaler_y = StandardScaler(), StandardScaler()\n"
             "x_scaled = scaler_x.fit_transform(x)\ny_scaled = scaler_y.fit_transform(y)\n"
             "X = torch.tensor(x_scaled, dtype=torch.float32)\nY = torch.tensor(y_scaled, dtype=torch.float32)"),
    ("code", "torch.manual_seed(0)\nmodel = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 1))\n"
             "optimizer = torch.optim.Adam(model.parameters(), lr=0.01)\n"
             "for epoch in range(EPOCHS):\n    # full-batch Adam on the mean squared error\n"
             "    loss = ((model(X) - Y) ** 2).mean()\n    optimizer.zero_grad()\n    loss.backward()\n"
             "    optimizer.step()"),
    ("code", "# predict on the test set, back in the units of y\nwith torch.no_grad():\n"
             "    x_test_scaled = scaler_x.transform(x_test)\n"
             "    pred_scaled = model(torch.tensor(x_test_scaled, dtype=torch.float32)).numpy()\n"
             "y_pred = scaler_y.inverse_transform(pred_scaled)\n"
             "print('test MSE', float(np.mean((y_pred - y_test) ** 2)))\n"
             "plt.scatter(x_test, y_test, s=4)\nplt.scatter(x_test, y_pred, s=4)\nplt.show()"),
]

# Keras inside main(): x scaled to [-1, 1], y standardised by hand, the prediction de-normalised
KERAS_MAIN_SCALED = """\"\"\"Keras: fit cos(x) + 0.2 x on [0, 10], x scaled to [-1, 1] and y standardised.\"\"\"
import numpy as np
import tensorflow as tf


def target(x):
    return np.cos(x) + 0.2 * x


def main():
    rng = np.random.default_rng(5)
    x_train = rng.uniform(0, 10, (400, 1)).astype("float32")
    y_train = target(x_train)
    x_test = np.linspace(0, 10, 60, dtype="float32").reshape(-1, 1)
    y_test = target(x_test)
    # scale the inputs to [-1, 1] and standardise the outputs (statistics of the training set)
    low, high = x_train.min(), x_train.max()
    x_train_scaled = 2 * (x_train - low) / (high - low) - 1
    x_test_scaled = 2 * (x_test - low) / (high - low) - 1
    mu, sigma = y_train.mean(), y_train.std()
    y_train_std = (y_train - mu) / sigma
    tf.random.set_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((1,)), tf.keras.layers.Dense(64, activation="relu"),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x_train_scaled, y_train_std, epochs={epochs}, batch_size=400, verbose=0)
    # predictions in the units of y
    y_pred_std = model.predict(x_test_scaled, verbose=0)
    y_pred = y_pred_std * sigma + mu
    print("test MSE:", float(np.mean((y_pred - y_test) ** 2)))


if __name__ == "__main__":
    main()
"""

# everything inside main(): x and y standardised, Adam written by hand, the prediction de-normalised,
# the test MSE and R² printed; `steps` 0 is the twin: the same path, untrained
NUMPY_ADAM_MAIN = """\"\"\"Fit y = x sin(x) + 0.5 x on [-4, 4] with a two-layer ReLU network: NumPy, Adam by hand.\"\"\"
import numpy as np
import matplotlib.pyplot as plt


def target(x):
    # the function to fit
    return x * np.sin(x) + 0.5 * x


def main():
    np.random.seed(42)
    # data: 400 training points, 100 test points, uniform on [-4, 4]
    x_train = np.random.uniform(-4, 4, (400, 1))
    y_train = target(x_train)
    x_test = np.random.uniform(-4, 4, (100, 1))
    y_test = target(x_test)
    # standardise x and y with the training statistics
    x_mean, x_std = x_train.mean(), x_train.std()
    y_mean, y_std = y_train.mean(), y_train.std()
    x_train_norm = (x_train - x_mean) / x_std
    y_train_norm = (y_train - y_mean) / y_std
    x_test_norm = (x_test - x_mean) / x_std
    # parameters of 1 -> 64 -> 1, and Adam's moments
    W1 = np.random.randn(1, 64)
    b1 = np.random.randn(64) * 0.5
    W2 = np.random.randn(64, 1) * 0.1
    b2 = np.zeros(1)
    params = [W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    for step in range(1, {steps} + 1):
        # forward
        z1 = x_train_norm @ W1 + b1
        a1 = np.maximum(0, z1)
        out = a1 @ W2 + b2
        # backward by hand
        d_out = 2 * (out - y_train_norm) / len(x_train_norm)
        d_z1 = (d_out @ W2.T) * (z1 > 0)
        grads = [x_train_norm.T @ d_z1, d_z1.sum(axis=0), a1.T @ d_out, d_out.sum(axis=0)]
        # Adam, by hand
        for i, (p, g) in enumerate(zip(params, grads)):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g ** 2
            p -= lr * (m[i] / (1 - beta1 ** step)) / (np.sqrt(v[i] / (1 - beta2 ** step)) + eps)
    # predict on the test set and undo the normalisation
    z1 = x_test_norm @ W1 + b1
    y_pred_norm = np.maximum(0, z1) @ W2 + b2
    y_pred = y_pred_norm * y_std + y_mean
    r2 = 1 - np.sum((y_pred - y_test) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    print(f"test MSE {{np.mean((y_pred - y_test) ** 2):.5f}}, R2 {{r2:.4f}}")
    order = np.argsort(x_test[:, 0])
    plt.plot(x_test[order], y_test[order], label="target")
    plt.plot(x_test[order], y_pred[order], "--", label="prediction")
    plt.legend()
    plt.show()


if __name__ == "__main__":
    main()
"""

# two pieces in one notebook: a NumPy network trained briefly (a partial fit), then a PyTorch one
# on the same data; the fit point is earned when any piece fits (`torch_epochs` 0: neither does)
TWO_PIECES = [
    ("markdown", "# 函数拟合：先用 NumPy，再用 PyTorch\n\n目标函数 $f(x) = \\sin(2x) + 0.3x$，区间 [-3, 3]。"),
    ("code", "import numpy as np\nimport matplotlib.pyplot as plt\n\n\ndef f(x):\n    # 目标函数\n"
             "    return np.sin(2 * x) + 0.3 * x\n\n\nnp.random.seed(2)\n"
             "x_train = np.random.uniform(-3, 3, (300, 1))\ny_train = f(x_train)\n"
             "x_test = np.random.uniform(-3, 3, (60, 1))\ny_test = f(x_test)"),
    ("markdown", "## 1. NumPy 实现（手写反向传播）"),
    ("code", "W1 = np.random.randn(1, 32)\nb1 = np.random.uniform(-3, 3, 32)\nW2 = np.random.randn(32, 1) * 0.1\n"
             "b2 = np.zeros(1)\n\n\ndef forward(x):\n    # 两层网络：ReLU 隐藏层\n"
             "    return np.maximum(0, x @ W1 + b1) @ W2 + b2\n\n\n"
             "for epoch in range(NUMPY_EPOCHS):\n    z = x_train @ W1 + b1\n    h = np.maximum(0, z)\n"
             "    d_out = 2 * (h @ W2 + b2 - y_train) / len(x_train)  # 梯度\n"
             "    d_z = (d_out @ W2.T) * (z > 0)\n    W2 -= 0.01 * h.T @ d_out\n    b2 -= 0.01 * d_out.sum(0)\n"
             "    W1 -= 0.01 * x_train.T @ d_z\n    b1 -= 0.01 * d_z.sum(0)\n\n"
             "y_pred = forward(x_test)\nprint('NumPy 测试 MSE', np.mean((y_pred - y_test) ** 2))"),
    ("markdown", "## 2. PyTorch 实现"),
    ("code", "import torch\nfrom torch import nn\n\ntorch.manual_seed(0)\n# 两层 ReLU 网络，Adam 优化\n"
             "net = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 1))\n"
             "opt = torch.optim.Adam(net.parameters(), lr=0.01)\n"
             "xt = torch.tensor(x_train, dtype=torch.float32)\nyt = torch.tensor(y_train, dtype=torch.float32)\n"
             "for epoch in range(TORCH_EPOCHS):\n    loss = nn.functional.mse_loss(net(xt), yt)  # 均方误差\n"
             "    opt.zero_grad()\n    loss.backward()\n    opt.step()\n\n"
             "# 测试集上的预测\n"
             "with torch.no_grad():\n    y_pred_torch = net(torch.tensor(x_test, dtype=torch.float32)).numpy()\n"
             "print('PyTorch 测试 MSE', np.mean((y_pred_torch - y_test) ** 2))\n"
             "plt.scatter(x_test, y_test, s=5)\nplt.scatter(x_test, y_pred_torch, s=5)\nplt.show()"),
]

# the bias folded into the weights: the input carries a column of ones, `forward(X, W1, W2)`;
# `hidden` is the hidden layer and `mask` its derivative (without np.maximum: the twin with no ReLU)
NUMPY_ONES_COLUMN = """import numpy as np

np.random.seed(3)


def f(x):
    # the target: sin(2x) + x / 2 on [-2, 2]
    return np.sin(2 * x) + x / 2


# training and test samples, drawn separately
x = np.random.uniform(-2, 2, (300, 1))
y = f(x)
x_test = np.random.uniform(-2, 2, (60, 1))
y_test = f(x_test)
# a column of ones carries the bias: W1 is (2, hidden), W2 is (hidden + 1, 1)
X = np.hstack([x, np.ones_like(x)])
X_test = np.hstack([x_test, np.ones_like(x_test)])
W1 = np.random.randn(2, 50)
W2 = np.random.randn(51, 1) * 0.1


def forward(X, W1, W2):
    # hidden layer, then its own column of ones for the output bias
    H = {hidden}
    H1 = np.hstack([H, np.ones((len(H), 1))])
    return H1 @ W2, H1


for epoch in range(4000):
    out, H1 = forward(X, W1, W2)
    g = 2 * (out - y) / len(X)  # gradient of the mean squared error
    dW2 = H1.T @ g
    dH = (g @ W2[:-1].T) * {mask}
    dW1 = X.T @ dH
    W1 -= 0.02 * dW1
    W2 -= 0.02 * dW2

y_pred, _ = forward(X_test, W1, W2)
print("test MSE", float(np.mean((y_pred - y_test) ** 2)))
"""

# the same, as a script: each piece in a function of its own, both called from main()
TWO_PIECES_SCRIPT = """\"\"\"Fit |x| cos(x) on [-4, 4] twice: NumPy with a hand-written backward, then PyTorch.\"\"\"
import numpy as np
import torch
from torch import nn


def target(x):
    # the function to fit
    return np.abs(x) * np.cos(x)


# one data set for both pieces: 400 training points, 80 test points
rng = np.random.default_rng(4)
x_train = rng.uniform(-4, 4, (400, 1))
y_train = target(x_train)
x_test = rng.uniform(-4, 4, (80, 1))
y_test = target(x_test)


def fit_numpy(epochs):
    \"\"\"NumPy: 1 -> 32 (ReLU) -> 1, plain gradient descent on the mean squared error.\"\"\"
    W1 = rng.normal(size=(1, 32))
    b1 = rng.uniform(-4, 4, 32)
    W2 = rng.normal(size=(32, 1)) * 0.1
    b2 = np.zeros(1)
    for _ in range(epochs):
        z = x_train @ W1 + b1
        h = np.maximum(0, z)
        g = 2 * (h @ W2 + b2 - y_train) / len(x_train)  # dLoss/dOutput
        gz = (g @ W2.T) * (z > 0)  # back through the ReLU
        W2 -= 0.01 * h.T @ g
        b2 -= 0.01 * g.sum(0)
        W1 -= 0.01 * x_train.T @ gz
        b1 -= 0.01 * gz.sum(0)
    y_pred = np.maximum(0, x_test @ W1 + b1) @ W2 + b2
    print("NumPy test MSE", float(np.mean((y_pred - y_test) ** 2)))


def fit_torch(epochs):
    \"\"\"PyTorch: the same shape of network, trained with Adam.\"\"\"
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    inputs = torch.tensor(x_train, dtype=torch.float32)
    targets = torch.tensor(y_train, dtype=torch.float32)
    for _ in range(epochs):
        loss = ((model(inputs) - targets) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        y_pred = model(torch.tensor(x_test, dtype=torch.float32)).numpy()
    print("PyTorch test MSE", float(np.mean((y_pred - y_test) ** 2)))


def main():
    fit_numpy(NUMPY_EPOCHS)
    fit_torch(TORCH_EPOCHS)


if __name__ == "__main__":
    main()
"""

# a bias column in a notebook: a NumPy class whose forward takes [x, 1], built with np.concatenate
ONES_COLUMN_CLASS = [
    ("markdown", "# 偏置并入权重\n\n输入后面拼一列 1，网络不再单独设偏置。目标函数 $f(x) = x \\sin(x)$，区间 [-3, 3]。"),
    ("code", "import numpy as np\nimport matplotlib.pyplot as plt\n\n\ndef f(x):\n    # 目标函数\n"
             "    return x * np.sin(x)\n\n\nrng = np.random.default_rng(8)\n# 训练集：等间距；测试集：随机\n"
             "x_tr = np.linspace(-3, 3, 250).reshape(-1, 1)\ny_tr = f(x_tr)\n"
             "x_te = rng.uniform(-3, 3, (70, 1))\ny_te = f(x_te)"),
    ("code", "class Net:\n    # 两层 ReLU 网络，偏置在权重的最后一行\n    def __init__(self, hidden):\n"
             "        self.W1 = rng.normal(size=(2, hidden))\n"
             "        self.W2 = rng.normal(size=(hidden + 1, 1)) * 0.1\n\n"
             "    def forward(self, X):\n        self.X = X\n        self.Z = X @ self.W1\n"
             "        self.H = np.concatenate([np.maximum(0, self.Z), np.ones((X.shape[0], 1))], axis=1)\n"
             "        return self.H @ self.W2\n\n"
             "    def backward(self, y, lr):\n        # 手写反向传播\n"
             "        g = 2 * (self.H @ self.W2 - y) / len(y)\n        dW2 = self.H.T @ g\n"
             "        dZ = (g @ self.W2[:-1].T) * (self.Z > 0)\n        self.W1 -= lr * self.X.T @ dZ\n"
             "        self.W2 -= lr * dW2"),
    ("code", "# 训练：输入加一列 1\nX_tr = np.concatenate([x_tr, np.ones((x_tr.shape[0], 1))], axis=1)\nnet = Net(64)\n"
             "for epoch in range(3000):\n    net.forward(X_tr)\n    net.backward(y_tr, 0.02)"),
    ("code", "# 测试：同样拼一列 1\nX_te = np.concatenate([x_te, np.ones((x_te.shape[0], 1))], axis=1)\n"
             "pred = net.forward(X_te)\nprint('测试集 MSE', float(np.mean((pred - y_te) ** 2)))\n"
             "plt.scatter(x_te, y_te, s=4)\nplt.scatter(x_te, pred, s=4)\nplt.show()"),
]

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
    # the student's own path to a prediction (issue 28)
    "numpy_minmax_scaled_x": Variant({"fit_relu.py": NUMPY_MINMAX.replace("{epochs}", "2000"), "report.md": report_zh("f(x) = x^2 \\sin x", "[-3, 3]")}),
    "numpy_minmax_scaled_x_untrained": Variant({"fit_relu.py": NUMPY_MINMAX.replace("{epochs}", "0"),
                                                "report.md": report_zh("f(x) = x^2 \\sin x", "[-3, 3]")}, failing={"fit", "numpy_bonus"}),
    "torch_sklearn_scalers": Variant({"拟合.ipynb": notebook([(k, c.replace("EPOCHS", "600"))
                                                             for k, c in TORCH_SCALERS])},
                                     failing={"numpy_bonus"}, needs_torch=True),
    "keras_main_scaled_x_and_y": Variant({"keras_fit.py": KERAS_MAIN_SCALED.format(epochs=150),
                                          "README.md": report_en("f(x) = cos(x) + 0.2x", "[0, 10]")},
                                         failing={"numpy_bonus"}),
    "numpy_adam_main_standardised": Variant({"fit_adam.py": NUMPY_ADAM_MAIN.format(steps=3000),
                                             "report.md": report_en("f(x) = x sin(x) + 0.5x", "[-4, 4]")}),
    "numpy_adam_main_standardised_untrained": Variant({"fit_adam.py": NUMPY_ADAM_MAIN.format(steps=0),
                                                       "report.md": report_en("f(x) = x sin(x) + 0.5x", "[-4, 4]")}, failing={"fit", "numpy_bonus"}),
    "two_pieces_numpy_then_torch": Variant({"function_fitting.ipynb": notebook(
        [(k, c.replace("NUMPY_EPOCHS", "900").replace("TORCH_EPOCHS", "1500")) for k, c in TWO_PIECES]),
        "report.md": report_zh("f(x) = \\sin(2x) + 0.3x", "[-3, 3]")}, failing={"numpy_bonus"}, needs_torch=True),
    "two_pieces_neither_fits": Variant({"function_fitting.ipynb": notebook(
        [(k, c.replace("NUMPY_EPOCHS", "900").replace("TORCH_EPOCHS", "0")) for k, c in TWO_PIECES]),
        "report.md": report_zh("f(x) = \\sin(2x) + 0.3x", "[-3, 3]")}, failing={"fit", "numpy_bonus"}, needs_torch=True),
    "numpy_ones_column_bias": Variant({"fit.py": NUMPY_ONES_COLUMN.format(hidden="np.maximum(0, X @ W1)",
                                                                          mask="(X @ W1 > 0)"),
                                       "report.md": report_zh("f(x) = \\sin(2x) + x/2", "[-2, 2]")}),
    "two_pieces_in_functions_of_a_script": Variant({"fit_two_ways.py": TWO_PIECES_SCRIPT.replace(
        "NUMPY_EPOCHS", "50").replace("TORCH_EPOCHS", "1500"), "report.md": report_en("f(x) = |x| cos(x)", "[-4, 4]")}, failing={"numpy_bonus"},
        needs_torch=True),
    "numpy_ones_column_class_notebook": Variant({"偏置并入权重.ipynb": notebook(ONES_COLUMN_CLASS),
                                                 "report.md": report_zh("f(x) = x \\sin x", "[-3, 3]")}),
    "numpy_ones_column_no_relu": Variant({"fit.py": NUMPY_ONES_COLUMN.format(hidden="X @ W1", mask="1"),
                                          "report.md": report_zh("f(x) = \\sin(2x) + x/2", "[-2, 2]")},
                                         failing={"relu", "fit", "numpy_bonus"}),
}
