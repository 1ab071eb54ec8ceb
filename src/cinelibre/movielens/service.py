"""Import a MovieLens data set: its films into the catalogue, its raters as users who cannot log
in, and their ratings. Running it again changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cinelibre.database.connection import Connection
from cinelibre.movielens import repository
from cinelibre.movielens.reader import Dataset, Layout, open_dataset, read_movies


@dataclass(frozen=True)
class ImportReport:
    dataset: str
    movies_read: int
    movies_linked: int
    movies_added: int
    users_added: int
    ratings_written: int

    def summary(self) -> str:
        return (
            f"Imported {self.dataset}: {self.movies_read} films read, {self.movies_added} added, "
            f"{self.movies_linked} linked to films already here; {self.users_added} users added; "
            f"{self.ratings_written} ratings written."
        )


def _id_column(dataset: Dataset) -> str:
    return "movielens_100k_id" if dataset.layout is Layout.ML_100K else "movielens_id"


async def import_dataset(
    conn: Connection,
    dataset: Dataset,
    *,
    with_ratings: bool = True,
    on_progress: Callable[[int], None] = lambda advanced_bytes: None,
) -> ImportReport:
    movies = list(read_movies(dataset))
    await repository.stage_movies(conn, movies)
    linked, added = await repository.merge_movies(conn, _id_column(dataset))
    users_added = ratings_written = 0
    if with_ratings:
        source = dataset.name
        with dataset.ratings_file.open("rb") as file:
            await repository.stage_ratings(conn, file, csv_layout=dataset.layout is Layout.CSV, on_progress=on_progress)
        users_added = await repository.create_staged_users(conn, source)
        ratings_written = await repository.merge_staged_ratings(conn, source=source, id_column=_id_column(dataset))
        if ratings_written:
            await repository.recount_imported_films(conn, id_column=_id_column(dataset))
    return ImportReport(
        dataset=dataset.name,
        movies_read=len(movies),
        movies_linked=linked,
        movies_added=added,
        users_added=users_added,
        ratings_written=ratings_written,
    )


async def import_from_folder(
    conn: Connection,
    folder: Path,
    *,
    with_ratings: bool = True,
    start_progress: Callable[[str, int], Callable[[int], None]] = lambda description, total: lambda advanced: None,
) -> ImportReport:
    """Import the MovieLens set in `folder` (InvalidInputError if it is not one). Progress is
    counted in bytes of the ratings file: `start_progress(description, total)` is called once and
    returns the function that advances it."""
    dataset = open_dataset(folder)
    total = dataset.ratings_file.stat().st_size if with_ratings else 0
    advance = start_progress(f"Loading {dataset.name} ratings", total)
    return await import_dataset(conn, dataset, with_ratings=with_ratings, on_progress=advance)
