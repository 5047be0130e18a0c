"""The feedback language: English (the message ids themselves) or Chinese, from gettext catalogs.

Every sentence a student or instructor reads goes through `_`/`tr` (Python) or `_` in the
templates (jinja2's i18n extension), so `pybabel extract` finds it and the catalog in
grader/locale holds its translation. Both catalogs are read when this module is imported: the
sandboxed child (which also words messages) is forked after that and cannot read files later.
JSON ids and check names are never translated: programs read them.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "dlgrade"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-CN"}  # the `lang` attribute of the HTML reports
_LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's own order

_CATALOGS: dict[str, gettext.NullTranslations] = {
    language: gettext.translation(DOMAIN, LOCALE_DIR, [language], fallback=language == "en")
    for language in LANGUAGES
}
_active = "en"


class LanguageError(ValueError):
    """A language dlgrade has no catalog for."""


def _(message: str) -> str:
    """`message` in the active language (a message id that is not in the catalog comes back unchanged)."""
    return _CATALOGS[_active].gettext(message) if message else message


def tr(message: str, /, **params: object) -> str:
    """`message` translated, then filled in with str.format: `tr("{name} returned {shape}", name=..., shape=...)`."""
    return _(message).format(**params)


def ntr(singular: str, plural: str, count: int, /, **params: object) -> str:
    """Like `tr`, choosing the singular or plural English message by `count` (also passed as `{count}`)."""
    return _CATALOGS[_active].ngettext(singular, plural, count).format(count=count, **params)


def listing(items: list[str]) -> str:
    """Words in a list, with the active language's separator ("a, b" / "a、b")."""
    return _(", ").join(items)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a module-level table); it is translated where used."""
    return message


def use(language: str) -> None:
    """Make `language` ("en" or "zh") the language of every message worded from now on, in this process."""
    global _active
    _active = check_language(language)


def active() -> str:
    return _active


def catalog(language: str | None = None) -> gettext.NullTranslations:
    """The gettext translations of `language` (default: the active one), for jinja2's i18n extension."""
    return _CATALOGS[check_language(language or _active)]


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise LanguageError(f"unknown language {language!r}; dlgrade speaks: {', '.join(LANGUAGES)}")
    return language


def from_locale(environ: Mapping[str, str] | None = None) -> str:
    """"zh" when the user's locale is Chinese (zh_CN.UTF-8, zh_TW...), else "en", read as gettext does."""
    environ = os.environ if environ is None else environ
    for variable in _LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            return "zh" if value.split(":")[0].lower().startswith("zh") else "en"
    return "en"


def resolve(flag: str | None, configured: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: `--lang` first, then the course file's `language`, then the locale."""
    return check_language(flag or configured or from_locale(environ))
