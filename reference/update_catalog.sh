#!/usr/bin/env bash
# Refresh the message catalogs after changing any message: extract every `_`/`tr`/`ntr`/`N_`
# message of grader/ (Python and templates), merge it into each language's .po (translate the
# new entries there, and clear any "fuzzy" flag), then compile the .mo files the package ships.
# Needs Babel (`pip install '.[test]'`); tests/test_i18n.py fails while a message lacks a translation.
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel extract -F babel.cfg -k tr -k ntr:1,2 --add-location=file --sort-by-file --no-wrap \
    --project dlgrade --copyright-holder "dlgrade" -o grader/locale/dlgrade.pot .
for po in grader/locale/*/LC_MESSAGES/dlgrade.po; do
    pybabel update -D dlgrade -i grader/locale/dlgrade.pot -d grader/locale -l "$(basename "$(dirname "$(dirname "$po")")")" \
        --no-wrap --ignore-obsolete
done
pybabel compile -D dlgrade -d grader/locale --statistics
