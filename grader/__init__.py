"""dlgrade: grades the 'simple neural network' homework against TensorFlow, with student code sandboxed."""

__version__ = "0.1.0"
