"""The configuration reference (.env.example, docs/configuration.md) is rendered from settings.py
and the committed copies match it."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from cinelibre.settings import Settings
from cinelibre.settings_reference import (
    CONFIGURATION_MARKDOWN,
    ENV_EXAMPLE,
    documented_settings,
    main,
    render_configuration_markdown,
    render_env_example,
    write_reference_files,
)

ROOT = Path(__file__).parents[1]
REGENERATE = "run `python -m cinelibre.settings_reference` (or `cinelibre config docs`) and commit the result"


@pytest.mark.parametrize(
    ("relative", "render"),
    [(ENV_EXAMPLE, render_env_example), (CONFIGURATION_MARKDOWN, render_configuration_markdown)],
    ids=[str(ENV_EXAMPLE), str(CONFIGURATION_MARKDOWN)],  # the same in every pytest-xdist worker
)
def test_committed_reference_matches_the_settings(relative, render) -> None:
    committed = (ROOT / relative).read_text(encoding="utf-8")

    assert committed == render(), f"{relative} is out of date with src/cinelibre/settings.py: {REGENERATE}"


def test_every_setting_has_a_description_and_a_section() -> None:
    undocumented = [name for name, field in Settings.model_fields.items() if not (field.description or "").strip()]
    unsectioned = [setting.variable for setting in documented_settings() if setting.section == "Other"]

    assert undocumented == []
    assert unsectioned == []


def test_every_setting_is_in_both_files_once() -> None:
    env_example, markdown = render_env_example(), render_configuration_markdown()

    for setting in documented_settings():
        assert sum(line.lstrip("# ").startswith(f"{setting.variable}=") for line in env_example.splitlines()) == 1
        assert markdown.count(f"| `{setting.variable}` |") == 1


def test_secrets_never_get_a_value_in_env_example() -> None:
    secrets = [
        setting.variable
        for setting, field in zip(documented_settings(), Settings.model_fields.values(), strict=True)
        if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))
    ]
    lines = render_env_example().splitlines()

    assert {"JWT_SECRET_KEY", "TMDB_API_KEY", "GOOGLE_BOOKS_API_KEY", "SUPABASE_KEY"} <= set(secrets)
    for variable in secrets:
        assert not any(line.startswith(f"{variable}=") for line in lines), variable


def test_rendering_of_a_few_settings_by_hand() -> None:
    env_example, markdown = render_env_example(), render_configuration_markdown()

    assert "\n# Least severe log records written (to stderr).\nLOG_LEVEL=info\n" in env_example
    assert (
        "\n# Google Books API key; optional, it raises the daily quota. Unset: anonymous requests.\n"
        "# GOOGLE_BOOKS_API_KEY=<your-google-books-api-key>\n"
    ) in env_example
    assert '\nTMDB_LANGUAGES=\'["hi","ta","te","ml","kn","bn","mr","pa"]\'\n' in env_example
    assert "\n# CINELIBRE_DATA_DIR=/var/lib/cinelibre\n" in env_example
    assert (
        "\n| `LOG_LEVEL` | `debug`, `info`, `warning` or `error` | `info` | Least severe log records written "
        "(to stderr). |\n"
    ) in markdown
    assert "\n| `SYNC_CONCURRENCY` | integer, 1 to 64 | `8` | Upstream requests in flight at once. |\n" in markdown
    assert "\n| `CINELIBRE_DATA_DIR` | path | `~/.cinelibre` | " in markdown


def test_an_unedited_copy_of_env_example_changes_nothing() -> None:
    from_copy = Settings(_env_file=ROOT / ENV_EXAMPLE)
    built_in = Settings(_env_file=None)

    assert from_copy.model_dump() == built_in.model_dump()


def test_write_reports_what_changed_and_check_names_stale_files(tmp_path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text("")

    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert ".env.example, docs/configuration.md" in capsys.readouterr().err

    assert write_reference_files(tmp_path) == [tmp_path / ENV_EXAMPLE, tmp_path / CONFIGURATION_MARKDOWN]
    assert write_reference_files(tmp_path) == []
    assert main(["--check", "--root", str(tmp_path)]) == 0

    (tmp_path / CONFIGURATION_MARKDOWN).write_text("edited by hand\n")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert "docs/configuration.md" in capsys.readouterr().err
    assert main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / CONFIGURATION_MARKDOWN).read_text() == render_configuration_markdown()
