"""Import a MovieLens data set: its films into the catalogue (with their tags, and the TMDB and
IMDb ids of links.csv for films already here that lack them), its raters as users who cannot log
in, and their ratings; then embed the films it added or changed. Running it again changes nothing."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cinelibre.database.connection import Connection, Pool
from cinelibre.movielens import repository
from cinelibre.movielens.reader import Dataset, Layout, open_dataset, read_movies
from cinelibre.movielens.synthetic import SyntheticMovieLens
from cinelibre.search import service as search_service
from cinelibre.search.embedder import Embedder

StartProgress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class ImportReport:
    dataset: str
    movies_read: int
    movies_linked: int
    movies_added: int
    # Films already in the catalogue that links.csv gave a TMDB or IMDb id they lacked.
    movies_given_ids: int
    users_added: int
    ratings_written: int

    def summary(self) -> str:
        return (
            f"Imported {self.dataset}: {self.movies_read} films read, {self.movies_added} added, "
            f"{self.movies_linked} linked to films already here; {self.users_added} users added; "
            f"{self.ratings_written} ratings written. {self.movies_given_ids} films already here were given "
            "TMDB or IMDb ids they lacked."
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
    given_ids = await repository.complete_linked_movies(conn, _id_column(dataset))
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
        movies_given_ids=given_ids,
        users_added=users_added,
        ratings_written=ratings_written,
    )


async def import_from_folder(
    conn: Connection,
    folder: Path,
    *,
    with_ratings: bool = True,
    start_progress: StartProgress = lambda description, total: lambda advanced: None,
) -> ImportReport:
    """Import the MovieLens set in `folder` (InvalidInputError if it is not one). Progress is
    counted in bytes of the ratings file: `start_progress(description, total)` is called once and
    returns the function that advances it."""
    dataset = open_dataset(folder)
    total = dataset.ratings_file.stat().st_size if with_ratings else 0
    advance = start_progress(f"Loading {dataset.name} ratings", total)
    return await import_dataset(conn, dataset, with_ratings=with_ratings, on_progress=advance)


async def import_synthetic(
    conn: Connection, data: SyntheticMovieLens, *, on_progress: Callable[[int], None] = lambda rows: None
) -> ImportReport:
    """Write a made-up MovieLens set the way an import writes a real one: its films, its raters as
    imported users who cannot log in, their ratings, and the films' rating counts. Progress is
    counted in ratings staged."""
    source = f"synthetic-{data.seed}"
    added = await repository.add_films(conn, data.films())
    await repository.stage_rating_arrays(conn, data.rating_chunks(), on_progress=on_progress)
    users_added = await repository.create_staged_users(conn, source)
    ratings_written = await repository.merge_staged_ratings(conn, source=source, id_column="movielens_id")
    if ratings_written:
        await repository.recount_imported_films(conn, id_column="movielens_id")
    return ImportReport(
        dataset=source,
        movies_read=data.shape.films,
        movies_linked=0,
        movies_added=added,
        movies_given_ids=0,
        users_added=users_added,
        ratings_written=ratings_written,
    )


@dataclass(frozen=True)
class ImportRun:
    report: ImportReport
    embedded: int
    # Items search cannot find by meaning yet: not embedded by the configured model from their
    # current text (all the import added or changed, when it was not followed by embedding).
    not_embedded: int


async def import_and_embed(
    pool: Pool,
    folder: Path,
    embedder: Embedder,
    *,
    embed: bool = True,
    with_ratings: bool = True,
    start_progress: StartProgress = lambda description, total: lambda advanced: None,
) -> ImportRun:
    """Import the MovieLens set in `folder` in one transaction, then (with `embed`) embed what is
    new or changed, so that search finds the films by what they are about and not only by title.
    `start_progress` is called for each step: the ratings file's bytes, then the items to embed."""
    async with pool.transaction() as conn:
        report = await import_from_folder(conn, folder, with_ratings=with_ratings, start_progress=start_progress)
    embedded = 0
    if embed:
        run = await search_service.embed_catalogue(pool, embedder, start_progress=start_progress)
        embedded = run.embedded
    async with pool.connection() as conn:
        status = await search_service.embedding_status(conn, model=embedder.model_name)
    return ImportRun(report, embedded, status.missing + status.outdated + status.other_model)
