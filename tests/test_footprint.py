import subprocess
import sys


def test_the_api_process_does_not_load_training_or_migration_libraries() -> None:
    # SciPy, SQLAlchemy/Alembic and Matplotlib cost ~60 MB together; only `cinelibre train`,
    # `cinelibre db migrate` and `cinelibre evaluate` need them, each in its own process.
    probe = (
        "import sys, cinelibre.app; "
        "print(sorted(m for m in ('scipy', 'sqlalchemy', 'alembic', 'matplotlib') if m in sys.modules))"
    )

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
