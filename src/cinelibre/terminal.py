"""What the `cinelibre` command shows on a terminal: messages on stderr, progress bars that stay
silent when the output is not a terminal (CI, a log file), and tables on stdout. Services never
see rich: they take a `StartProgress` function and call what it returns."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

from rich import filesize
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

console = Console(stderr=True)

# Starts a progress bar with a description and a total; returns the function that advances it.
StartProgress = Callable[[str, int], Callable[[int], None]]
Unit = Literal["items", "bytes"]


class CountColumn(ProgressColumn):
    """How far a bar has come: "1,234/5,000", or "12.3/45.6 MB" for a bar counted in bytes."""

    def render(self, task: Task) -> Text:
        total = int(task.total or 0)
        if task.fields.get("unit") == "bytes":
            divisor, suffix = filesize.pick_unit_and_suffix(total, ["bytes", "kB", "MB", "GB", "TB"], 1000)
            decimals = 0 if divisor == 1 else 1
            completed = task.completed / divisor
            return Text(
                f"{completed:,.{decimals}f}/{total / divisor:,.{decimals}f} {suffix}", style="progress.download"
            )
        return Text(f"{int(task.completed):,}/{total:,}", style="progress.download")


@contextmanager
def progress(*, units: Sequence[Unit] = ()) -> Iterator[StartProgress]:
    """Bars with a count, the time so far and the time left. A service that counts some steps in
    bytes says so in its documentation; `units` names the unit of each bar in the order the
    service starts them (bars beyond the list count items)."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        CountColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bars:
        started = 0

        def start(description: str, total: int) -> Callable[[int], None]:
            nonlocal started
            unit = units[started] if started < len(units) else "items"
            started += 1
            task = bars.add_task(description, total=total, unit=unit)
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
