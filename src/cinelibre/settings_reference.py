"""The configuration reference, rendered from the settings themselves.

Every setting is described once, in its `Field(description=...)` in settings.py. This module
turns those descriptions (with each field's environment variable, type and default) into
`.env.example` and `docs/configuration.md`, and tells whether the committed copies are current:

    python -m cinelibre.settings_reference           # rewrite both files under the current folder
    python -m cinelibre.settings_reference --check   # exit 1, naming them, when either is stale

`cinelibre config docs [--check]` does the same through write_reference_files().
"""

import argparse
import json
import sys
import textwrap
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from cinelibre.settings import OTHER_ENVIRONMENT_VARIABLES, Settings
from cinelibre.types import LanguageCode

ENV_EXAMPLE = Path(".env.example")
CONFIGURATION_MARKDOWN = Path("docs/configuration.md")
REGENERATE = "`cinelibre config docs` (or `python -m cinelibre.settings_reference`)"
LINE_WIDTH = 96
OTHER_VARIABLES_SECTION = "Read from the environment only"


@dataclass(frozen=True)
class DocumentedSetting:
    variable: str  # the environment variable
    section: str
    type: str  # for people: "integer, 1 to 65535", "`json` or `text`", ...
    default: str | None  # as an env file writes it; None: unset, or shown only as `shown_default`
    shown_default: str  # for the tables: `8000`, unset, `~/.cinelibre`
    example: str | None  # the value a commented-out line shows
    description: str


def documented_settings() -> list[DocumentedSetting]:
    """Every Settings field, in the order the class declares them."""
    return [_document(name, field) for name, field in Settings.model_fields.items()]


def environment_variable(name: str, field: FieldInfo) -> str:
    """The variable a field is read from: its first alias when it has one, else its name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        alias = next((choice for choice in alias.choices if isinstance(choice, str)), None)
    return (alias if isinstance(alias, str) else name).upper()


def _document(name: str, field: FieldInfo) -> DocumentedSetting:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    secret = _is_secret(field.annotation)
    # A secret never shows a value, and a default that depends on the machine is shown as words.
    default = None if secret or "shown_default" in extra or field.default is None else env_value(field.default)
    if "shown_default" in extra:
        shown = f"`{extra['shown_default']}`"
    elif default is None:
        shown = "unset"
    else:
        shown = f"`{default}`"
    return DocumentedSetting(
        variable=environment_variable(name, field),
        section=str(extra.get("section", "Other")),
        type=type_label(field),
        default=default,
        shown_default=shown,
        example=env_value(field.examples[0]) if field.examples else None,
        description=" ".join((field.description or "").split()),
    )


def env_value(value: Any) -> str:
    """A value as an environment variable (or a `.env` line) carries it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or any(_is_secret(arg) for arg in get_args(annotation))


def type_label(field: FieldInfo) -> str:
    """The field's type in words, with its bounds: "integer, 1 to 65535", "`on` or `off`"."""
    annotation = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    label = _type_words(annotation)
    bounds = _bounds(field.metadata)
    return f"{label}, {bounds}" if bounds else label


_TYPE_WORDS = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "path", SecretStr: "secret"}
_PLURALS = {"string": "strings", "language code": "language codes"}


def _type_words(annotation: Any) -> str:
    if annotation == LanguageCode:
        return "language code"
    origin = get_origin(annotation)
    if origin is Literal:
        choices = [f"`{choice}`" for choice in get_args(annotation)]
        return ", ".join(choices[:-1]) + " or " + choices[-1]
    if origin is list:
        item = _type_words(get_args(annotation)[0])
        return f"JSON list of {_PLURALS.get(item, item)}"
    if origin is Annotated:
        return _type_words(get_args(annotation)[0])
    return _TYPE_WORDS[annotation]


def _bounds(metadata: Iterable[Any]) -> str:
    low = high = None
    for constraint in metadata:
        if isinstance(constraint, annotated_types.Ge):
            low = ("at least", constraint.ge)
        elif isinstance(constraint, annotated_types.Gt):
            low = ("above", constraint.gt)
        elif isinstance(constraint, annotated_types.Le):
            high = ("at most", constraint.le)
        elif isinstance(constraint, annotated_types.Lt):
            high = ("below", constraint.lt)
    if low and high and low[0] == "at least" and high[0] == "at most":
        return f"{env_value(low[1])} to {env_value(high[1])}"
    return ", ".join(f"{words} {env_value(value)}" for words, value in (bound for bound in (low, high) if bound))


def _by_section(settings: Sequence[DocumentedSetting]) -> dict[str, list[DocumentedSetting]]:
    """Sections in the order they first appear in the class."""
    sections: dict[str, list[DocumentedSetting]] = {}
    for setting in settings:
        sections.setdefault(setting.section, []).append(setting)
    return sections


# ---- .env.example ------------------------------------------------------------------------------

_ENV_HEADER = "\n\n".join(
    [
        "CineLibre configuration: every setting, what it does and its default.",
        f"Generated from src/cinelibre/settings.py by {REGENERATE}; change the descriptions there, not here.",
        "Copy this file to .env in the folder the service starts from, or set the same names as environment "
        "variables; an environment variable wins over the same line in .env. Every uncommented line is the "
        "built-in default, so an unedited copy changes nothing. A commented line is a setting that is unset by "
        "default (or whose default depends on the machine), shown with an example value. docs/configuration.md "
        "has the same reference as tables.",
    ]
)

_ENV_OTHER_INTRO = "Other programs read these from real environment variables only: a line in .env does not reach them."


def _comment(text: str) -> str:
    """`text` as comment lines of at most LINE_WIDTH characters; a line of text is a paragraph."""
    return "\n".join(_wrap_paragraph(paragraph) if paragraph else "#" for paragraph in text.split("\n"))


def _wrap_paragraph(paragraph: str) -> str:
    # Code spans (`...`) are kept on one line: their spaces are not places to break.
    spans = paragraph.split("`")
    unbroken = "`".join(span.replace(" ", _NO_BREAK) if i % 2 else span for i, span in enumerate(spans))
    wrapped = textwrap.fill(
        unbroken,
        LINE_WIDTH,
        initial_indent="# ",
        subsequent_indent="# ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapped.replace(_NO_BREAK, " ")


_NO_BREAK = "\x00"


def _section_rule(title: str) -> str:
    return f"# ---- {title} ".ljust(LINE_WIDTH, "-")


def _env_assignment(variable: str, value: str) -> str:
    # Quoted when a .env reader would otherwise cut or change it (spaces, JSON's brackets, a #).
    if value and (any(c in value for c in " #'\"\\$") or value[0] in "[{"):
        value = f"'{value}'"
    return f"{variable}={value}"


def _env_entry(setting: DocumentedSetting) -> str:
    if setting.default is not None:
        line = _env_assignment(setting.variable, setting.default)
    else:
        line = "# " + _env_assignment(setting.variable, setting.example or "")
    return f"{_comment(setting.description)}\n{line}"


def render_env_example() -> str:
    """The text of `.env.example`: a commented entry per setting, in sections."""
    parts = [_comment(_ENV_HEADER)]
    for section, settings in _by_section(documented_settings()).items():
        parts.append(_section_rule(section))
        parts.extend(_env_entry(setting) for setting in settings)
    parts.append(_section_rule(OTHER_VARIABLES_SECTION))
    parts.append(_comment(_ENV_OTHER_INTRO))
    parts.extend(
        f"{_comment(variable.description)}\n# {_env_assignment(variable.name, variable.example)}"
        for variable in OTHER_ENVIRONMENT_VARIABLES
    )
    return "\n\n".join(parts) + "\n"


# ---- docs/configuration.md ---------------------------------------------------------------------

_MARKDOWN_HEADER = f"""\
# Configuration

*Generated from `src/cinelibre/settings.py` by
{REGENERATE}.
Do not edit this file by hand: change the field descriptions in `settings.py` and generate it
again (`tests/test_settings_reference.py` fails while it is out of date).*

CineLibre reads its settings when a process starts, from environment variables and from a `.env`
file. Every setting is listed below with its type, its default and what it does; `.env.example`
holds the same list as a file to copy.

## How settings are read

- **Names.** Each setting is read from the environment variable in the first column (upper or
  lower case alike), or from a line `NAME=value` in a `.env` file in the folder the process starts
  in. Copy `.env.example` to `.env` to begin: its uncommented lines are the defaults.
- **Precedence.** An environment variable wins over the same name in `.env`, which wins over the
  built-in default. The options of `cinelibre serve` (`--host`, `--port`, `--no-demo`) win over
  both for that run.
- **When.** Each process reads them once, when it starts: after a change, restart the service
  (every instance of it); commands such as `cinelibre sync` read them afresh on every run.
- **Values.** Booleans are `true` or `false`; lists are JSON, e.g. `TMDB_LANGUAGES='["hi","ta"]'`;
  times are in seconds unless the name says otherwise.
- **Unset is not empty.** To keep a default, leave the variable out (or its line commented). An
  empty value is a value: `JWT_ISSUER=` and `JWT_AUDIENCE=` mean "no such claim", an empty
  `DATABASE_URL` does not mean the embedded server, and most other settings refuse it.
- **Checks.** A value the service cannot use stops it at start with a message naming the setting.
- The last section lists variables that other programs read from the real environment only."""

_MARKDOWN_OTHER_INTRO = (
    "These are not CineLibre settings: uvicorn, gunicorn and the numerical libraries read them from real "
    "environment variables, so a line in `.env` does not reach them. Set them where the process is started "
    "(the container, the platform's environment, the shell)."
)
_TABLE_HEAD = "| Variable | Type | Default | Meaning |\n|---|---|---|---|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_row(setting: DocumentedSetting) -> str:
    cells = [f"`{setting.variable}`", setting.type, setting.shown_default, setting.description]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def render_configuration_markdown() -> str:
    """The text of `docs/configuration.md`: how settings are read, then a table per section."""
    parts = [_MARKDOWN_HEADER]
    for section, settings in _by_section(documented_settings()).items():
        rows = "\n".join(_markdown_row(setting) for setting in settings)
        parts.append(f"## {section}\n\n{_TABLE_HEAD}\n{rows}")
    other_rows = "\n".join(
        "| " + " | ".join(_cell(cell) for cell in (f"`{v.name}`", f"`{v.default}`", v.description)) + " |"
        for v in OTHER_ENVIRONMENT_VARIABLES
    )
    parts.append(
        f"## {OTHER_VARIABLES_SECTION}\n\n{_MARKDOWN_OTHER_INTRO}\n\n"
        f"| Variable | Default | Meaning |\n|---|---|---|\n{other_rows}"
    )
    return "\n\n".join(parts) + "\n"


# ---- the files ---------------------------------------------------------------------------------


def rendered_reference_files() -> dict[Path, str]:
    """Each reference file's path (relative to the repository root) and its text."""
    return {ENV_EXAMPLE: render_env_example(), CONFIGURATION_MARKDOWN: render_configuration_markdown()}


def _current_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def stale_reference_files(root: Path) -> list[Path]:
    """The reference files under `root` that differ from what the settings render (or are missing)."""
    return [root / path for path, text in rendered_reference_files().items() if _current_text(root / path) != text]


def write_reference_files(root: Path) -> list[Path]:
    """Write `.env.example` and `docs/configuration.md` under `root`; the paths whose text changed."""
    changed = []
    for relative, text in rendered_reference_files().items():
        path = root / relative
        if _current_text(path) != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cinelibre.settings_reference",
        description="Render .env.example and docs/configuration.md from the settings' descriptions.",
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if either file is stale")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root (default: here)")
    arguments = parser.parse_args(argv)
    root: Path = arguments.root
    if not (root / "pyproject.toml").is_file():
        print(
            f"{root} is not the repository root (no pyproject.toml): run from there, or pass --root.", file=sys.stderr
        )
        return 2
    if arguments.check:
        stale = stale_reference_files(root)
        if stale:
            names = ", ".join(str(path.relative_to(root)) for path in stale)
            print(f"Out of date: {names}. Regenerate them with {REGENERATE}.", file=sys.stderr)
            return 1
        print("The configuration reference is up to date.")
        return 0
    changed = write_reference_files(root)
    for path in changed:
        print(f"Wrote {path.relative_to(root)}")
    if not changed:
        print("The configuration reference was already up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
