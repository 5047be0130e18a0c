"""Part 4 (function fitting): find the fitting code and the report in a hand-in, read what can be
read without running anything (units.py: code; writeup.py: the report). The family that runs the
code and judges it is grader/checks/fitting.py; the child side is grader/probes/fitting.py."""
