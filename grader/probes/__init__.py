"""Probes: child-side routines that exercise student code and return plain data only.

Each probe takes the loaded namespace, the job and one call description, and returns a dict of
JSON values and numpy arrays. The registry maps the job's `probe` name to the routine.
"""

from grader.probes.calls import call_function
from grader.probes.fitting import fitting_call
from grader.probes.layers import layer_call
from grader.probes.training import training_call

PROBES = {"call": call_function, "layer": layer_call, "training": training_call, "fitting": fitting_call}
