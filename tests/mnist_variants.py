"""Hand-in variants for the MNIST checks, as text edits of the instructor notebooks.

Shared by the tests and by reference/calibrate_mnist.py, which measures the correct ones.
"""

from __future__ import annotations

W1_NP, W2_NP = "self.W1 = np.random.normal(size=[28*28+1, 100])", "self.W2 = np.random.normal(size=[100, 10])"
W1_TF, W2_TF = "tf.random.normal([28 * 28, 100], stddev=0.05)", "tf.random.normal([100, 10], stddev=0.05)"
NUMPY_STEP = ("model.W1 -= 1e-5* model.W1_grad", "model.W2 -= 1e-5* model.W2_grad")


def numpy_init(expression_w1: str, expression_w2: str) -> tuple:
    return (("numpy", W1_NP, f"self.W1 = {expression_w1}"), ("numpy", W2_NP, f"self.W2 = {expression_w2}"))


def numpy_lr(lr: str) -> tuple:
    return tuple(("numpy", old, old.replace("1e-5", lr)) for old in NUMPY_STEP)


NUMPY_CORRECT = {
    "reference": (),
    "he_init": numpy_init("np.random.normal(size=[785, 100]) * np.sqrt(2 / 785)", "np.random.normal(size=[100, 10]) * np.sqrt(2 / 100)"),
    "small_init": numpy_init("np.random.normal(scale=0.01, size=[785, 100])", "np.random.normal(scale=0.01, size=[100, 10])"),
    "uniform_init": numpy_init("np.random.uniform(-0.1, 0.1, size=[785, 100])", "np.random.uniform(-0.1, 0.1, size=[100, 10])"),
    "wide_300": numpy_init("np.random.normal(size=[785, 300])", "np.random.normal(size=[300, 10])"),
    "narrow_50": numpy_init("np.random.normal(size=[785, 50])", "np.random.normal(size=[50, 10])"),
    "lr_parameter": (("numpy", "def train_one_step(model, x, y):", "def train_one_step(model, x, y, lr=1e-4):"),
                     ("numpy", NUMPY_STEP[0], "model.W1 -= lr * model.W1_grad"),
                     ("numpy", NUMPY_STEP[1], "model.W2 -= lr * model.W2_grad")),
    "tiny_lr": numpy_lr("1e-6"),
}

# (edits, checks that must fail, fragment of their message or hint)
NUMPY_BUGGY = {
    "gradient_ascent": (tuple(("numpy", old, old.replace("-=", "+=")) for old in NUMPY_STEP),
                        {"mnist_numpy.train_one_step"}, "goes up"),
    "sign_error_in_backward_chain": ((("numpy", "self.log.backward(-label)", "self.log.backward(label)"),),
                                     {"mnist_numpy.trains", "mnist_numpy.train_one_step"}, "went up"),
    "backward_raises": ((("numpy", "self.relu.backward(self.h2_grad)", "self.sigmoid.backward(self.h2_grad)"),),
                        {"mnist_numpy.trains", "mnist_numpy.train_one_step"}, "AttributeError"),
    "relu_instead_of_softmax": ((("numpy", "self.softmax = Softmax()", "self.softmax = Relu()"),),
                                {"mnist_numpy.output_contract"}, "not log-probabilities"),
    "forward_takes_label": ((("numpy", "    def forward(self, x):\n        x = x.reshape", "    def forward(self, x, label):\n        x = x.reshape"),),
                            {"mnist_numpy.output_contract", "mnist_numpy.trains", "mnist_numpy.train_one_step"}, "forward(x)"),
}


def tf_init(expression_w1: str, expression_w2: str) -> tuple:
    return (("tf", W1_TF, expression_w1), ("tf", W2_TF, expression_w2))


TF_CORRECT = {
    "reference": (),
    "normal_init": tf_init("tf.random.normal([28 * 28, 100])", "tf.random.normal([100, 10])"),
    "glorot_init": tf_init("tf.keras.initializers.GlorotUniform()([784, 100])", "tf.keras.initializers.GlorotUniform()([100, 10])"),
    "uniform_init": tf_init("tf.random.uniform([784, 100], -0.1, 0.1)", "tf.random.uniform([100, 10], -0.1, 0.1)"),
    "wide_256": (("tf", W1_TF, "tf.random.normal([784, 256], stddev=0.05)"), ("tf", "tf.zeros([100])", "tf.zeros([256])"),
                 ("tf", W2_TF, "tf.random.normal([256, 10], stddev=0.05)")),
    "tf_module": (("tf", "class myModel:", "class myModel(tf.Module):"),
                  ("tf", "    def __init__(self):\n", "    def __init__(self):\n        super().__init__()\n")),
    "three_layers": (("tf", W2_TF, "tf.random.normal([100, 64], stddev=0.1)"),
                     ("tf", 'self.b2 = tf.Variable(tf.zeros([10]), name="b2")',
                      'self.b2 = tf.Variable(tf.zeros([64]), name="b2")\n'
                      '        self.W3 = tf.Variable(tf.random.normal([64, 10], stddev=0.1), name="W3")\n'
                      '        self.b3 = tf.Variable(tf.zeros([10]), name="b3")'),
                     ("tf", "        logits = tf.matmul(h1, self.W2) + self.b2",
                      "        h2 = tf.nn.relu(tf.matmul(h1, self.W2) + self.b2)\n        logits = tf.matmul(h2, self.W3) + self.b3"),
                     ("tf", "trainable_vars = [model.W1, model.W2, model.b1, model.b2]",
                      "trainable_vars = [model.W1, model.W2, model.W3, model.b1, model.b2, model.b3]")),
    "student_lr_0.1": (("tf", "v.assign_sub(0.01*g)", "v.assign_sub(0.1*g)"),),
    # weights drawn at std 1: the first loss is in the hundreds (two layers) or thousands (three);
    # plain SGD at a fixed rate diverges or crawls, the notebook's Adam trains them
    "large_init_wide_256": (("tf", W1_TF, "tf.random.normal([784, 256])"), ("tf", "tf.zeros([100])", "tf.zeros([256])"),
                            ("tf", W2_TF, "tf.random.normal([256, 10])")),
    "large_init_three_layers": (("tf", W1_TF, "tf.random.normal([784, 256])"), ("tf", "tf.zeros([100])", "tf.zeros([256])"),
                                ("tf", W2_TF, "tf.random.normal([256, 128])"),
                                ("tf", 'self.b2 = tf.Variable(tf.zeros([10]), name="b2")',
                                 'self.b2 = tf.Variable(tf.zeros([128]), name="b2")\n'
                                 '        self.W3 = tf.Variable(tf.random.normal([128, 10]), name="W3")\n'
                                 '        self.b3 = tf.Variable(tf.zeros([10]), name="b3")'),
                                ("tf", "        logits = tf.matmul(h1, self.W2) + self.b2",
                                 "        h2 = tf.nn.relu(tf.matmul(h1, self.W2) + self.b2)\n"
                                 "        logits = tf.matmul(h2, self.W3) + self.b3"),
                                ("tf", "trainable_vars = [model.W1, model.W2, model.b1, model.b2]",
                                 "trainable_vars = [model.W1, model.W2, model.W3, model.b1, model.b2, model.b3]")),
}

TF_BUGGY = {
    "returns_probabilities": ((("tf", "        return logits", "        return tf.nn.softmax(logits)"),),
                              {"mnist_tf.logits", "mnist_tf.trains"}, "probabilities"),
    "returns_log_probabilities": ((("tf", "        return logits", "        return tf.nn.log_softmax(logits)"),), {"mnist_tf.logits"}, "log-probabilities"),
    "relu_on_output": ((("tf", "        return logits", "        return tf.nn.relu(logits)"),), {"mnist_tf.logits"}, "ReLU"),
    "zero_init": (tf_init("tf.zeros([784, 100])", "tf.zeros([100, 10])"), {"mnist_tf.trains"}, "does not move"),
    "assign_add_step": ((("tf", "v.assign_sub(0.01*g)", "v.assign_add(0.01*g)"),), {"mnist_tf.train_one_step"}, "goes up"),
    "five_outputs": ((("tf", W2_TF, "tf.random.normal([100, 5], stddev=0.05)"), ("tf", "tf.zeros([10])", "tf.zeros([5])")),
                     {"mnist_tf.logits"}, "expected (1000, 10)"),
}

# The student's own loop, run the way it runs. Minibatches of 64 with a rate of its own (1e-2, in
# train_one_step): the notebook's full batch at that rate sums 2,000 images' gradients and diverges to NaN.
NUMPY_GIVEN_LOOP = "for epoch in range(50):\n    loss, accuracy = train_one_step(model, train_data[0], train_label)"
NUMPY_MINIBATCH_LOOP = ("batch_size = 64\nfor epoch in range(5):\n    for i in range(0, len(train_data[0]), batch_size):\n"
                        "        loss, accuracy = train_one_step(model, train_data[0][i:i + batch_size], "
                        "train_label[i:i + batch_size])")
NUMPY_MINIBATCHES = numpy_lr("1e-2") + (("numpy", NUMPY_GIVEN_LOOP, NUMPY_MINIBATCH_LOOP),)
NUMPY_MINIBATCH_ASCENT = NUMPY_MINIBATCHES + tuple(
    ("numpy", f"model.{w} -= 1e-2* model.{w}_grad", f"model.{w} += 1e-2* model.{w}_grad") for w in ("W1", "W2"))
# the rate passed by the notebook's full-batch loop as a keyword (the step's default is the notebook's 1e-5)
NUMPY_FULL_BATCH_KEYWORD_RATE = (
    ("numpy", "def train_one_step(model, x, y):", "def train_one_step(model, x, y, lr=1e-5):"),
    ("numpy", NUMPY_STEP[0], "model.W1 -= lr * model.W1_grad"), ("numpy", NUMPY_STEP[1], "model.W2 -= lr * model.W2_grad"),
    ("numpy", NUMPY_GIVEN_LOOP, NUMPY_GIVEN_LOOP.replace("train_label)", "train_label, lr=1e-2)")))
