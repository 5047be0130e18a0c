"""dlgrade: grades the 'simple neural network' homework against TensorFlow, with student code sandboxed.

In a notebook: `import grader; grader.check()` (see grader/jupyter.py), or `%load_ext grader`
and `%dlgrade`.
"""

__version__ = "0.1.0"


def check(*targets: str, **options):
    """Grade the saved files of this folder and show the verdicts (grader.jupyter.check)."""
    from grader.jupyter import check as run

    return run(*targets, **options)


def load_ipython_extension(ipython) -> None:
    from grader.jupyter import load_ipython_extension as load

    load(ipython)
