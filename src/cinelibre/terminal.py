"""What the `cinelibre` command shows on a terminal: messages on stderr, progress bars that stay
silent when the output is not a terminal (CI, a log file), and tables on stdout. Services never
see rich: they take a `StartProgress` function and call what it returns."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=True)

# Starts a progress bar with a description and a total; returns the function that advances it.
StartProgress = Callable[[str, int], Callable[[int], None]]


@contextmanager
def progress(*columns: ProgressColumn) -> Iterator[StartProgress]:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bars:

        def start(description: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(description, total=total)
            return lambda advanced: bars.advance(task, advanced)

        yield start


def print_table(
    title: str, columns: Iterable[str], rows: Iterable[list[str]], *, min_width: int, numbers_right: bool = True
) -> None:
    """On stdout, at least `min_width` wide so that a narrow terminal does not wrap the numbers."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        table.add_column(column, justify="right" if numbers_right and index else "left")
    for row in rows:
        table.add_row(*row)
    Console(width=max(console.width, min_width)).print(table)
