"""Intake: turn what an LMS or GitHub Classroom hands over into hand-in folders (before discovery).

`archives` unpacks students' zip, tar, 7z and rar files under caps; `git` exports a clone's graded
commit without running anything of the student's.
"""
