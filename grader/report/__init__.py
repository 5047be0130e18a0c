"""Report: render graded results for people (terminal) and programs (JSON)."""
