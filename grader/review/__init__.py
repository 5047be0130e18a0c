"""Human review of a graded class: the review queue, recording decisions, and a local web app.

Nothing in the grading pipeline imports this package; it reads the gradebook and writes decisions
into it, and re-renders the reports through grader/report/reviewed.py. Only `app` needs Flask
(`pip install 'dlgrade[review]'`).
"""
