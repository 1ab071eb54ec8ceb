"""Reading Letterboxd, IMDb and Goodreads exports into HistoryRow lists: the sample exports in
tests/data/imports/ row by row, and each kind of file the readers refuse with its exact message.
Pure parsing: no database."""

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cinelibre.errors import InvalidInputError
from cinelibre.imports.readers import (
    MAX_FILE_BYTES,
    HistoryRow,
    ImportFileError,
    Source,
    _read_at_most,
    imdb_stars,
    read_history,
    to_isbn13,
)

SAMPLES = Path(__file__).parent / "data" / "imports"
LETTERBOXD_HEADER = "Date,Name,Year,Letterboxd URI,Rating\n"
IMDB_HEADER = (
    "Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,"
    "Num Votes,Release Date,Directors\n"
)
GOODREADS_HEADER = (
    "Book Id,Title,Author,Author l-f,Additional Authors,ISBN,ISBN13,My Rating,Average Rating,Publisher,Binding,"
    "Number of Pages,Year Published,Original Publication Year,Date Read,Date Added,Bookshelves,"
    "Bookshelves with positions,Exclusive Shelf,My Review,Spoiler,Private Notes,Read Count,Owned Copies\n"
)


def day(year: int, month: int, date: int) -> datetime:
    return datetime(year, month, date, tzinfo=UTC)


def film(
    file: str,
    line: int,
    title: str,
    year: int | None,
    *,
    rating: float | None = None,
    want: bool = False,
    date: datetime | None,
    imdb_id: str | None = None,
) -> HistoryRow:
    return HistoryRow(file, line, "movie", title, year, (), imdb_id, None, rating, want, date)


def book(
    line: int,
    title: str,
    year: int | None,
    authors: tuple[str, ...],
    *,
    isbn13: str | None,
    rating: float | None,
    want: bool = False,
    date: datetime,
) -> HistoryRow:
    return HistoryRow(
        "goodreads_library_export.csv", line, "book", title, year, authors, None, isbn13, rating, want, date
    )


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def letterboxd_export() -> dict[str, bytes]:
    return {name: sample(f"letterboxd/{name}") for name in ("ratings.csv", "watched.csv", "watchlist.csv")}


def refusal(source: Source, filename: str, data: bytes | str) -> str:
    with pytest.raises(ImportFileError) as refused:
        read_history(source, filename, data.encode() if isinstance(data, str) else data)
    return refused.value.message


LETTERBOXD_RATED = [
    film("ratings.csv", 2, "Kahaani", 2012, rating=4.5, date=day(2023, 1, 14)),
    film("ratings.csv", 3, "Drishyam", 2015, rating=5.0, date=day(2023, 2, 3)),
    film("ratings.csv", 4, "Gangs of Wasseypur", 2012, rating=3.5, date=day(2023, 3, 21)),
    film("ratings.csv", 5, "Monsters, Inc.", 2001, rating=0.5, date=day(2023, 4, 9)),
    # A + before a digit is a sign, not a formula: the film "+1" is read.
    film("ratings.csv", 6, "+1", 2013, rating=2.0, date=day(2023, 5, 30)),
]
LETTERBOXD_WATCHLIST = [
    film("watchlist.csv", 2, "Talvar", 2015, want=True, date=day(2023, 7, 1)),
    film("watchlist.csv", 3, "Kahaani", 2012, want=True, date=day(2023, 7, 2)),
    film("watchlist.csv", 4, "Paani", None, want=True, date=day(2023, 7, 3)),
]


def test_letterboxd_ratings_csv_gives_each_film_its_half_stars_and_date() -> None:
    assert read_history(Source.LETTERBOXD, "ratings.csv", sample("letterboxd/ratings.csv")) == LETTERBOXD_RATED


def test_letterboxd_watched_csv_alone_gives_every_film_without_rating_or_want() -> None:
    assert read_history(Source.LETTERBOXD, "watched.csv", sample("letterboxd/watched.csv")) == [
        film("watched.csv", 2, "Kahaani", 2012, date=day(2023, 1, 14)),
        film("watched.csv", 3, "Drishyam", 2015, date=day(2023, 2, 3)),
        film("watched.csv", 4, "Andhadhun", 2018, date=day(2023, 6, 11)),
        film("watched.csv", 5, "Gangs of Wasseypur", 2012, date=day(2023, 3, 21)),
    ]


def test_letterboxd_watchlist_csv_alone_is_told_from_watched_by_its_name() -> None:
    assert read_history(Source.LETTERBOXD, "watchlist.csv", sample("letterboxd/watchlist.csv")) == LETTERBOXD_WATCHLIST


def test_letterboxd_zip_gives_a_rated_and_watched_film_once_and_keeps_a_rated_film_on_the_watchlist() -> None:
    export = {
        **letterboxd_export(),
        "diary.csv": b"Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n",
        "profile.csv": b"Date Joined,Username\n2020-01-01,someone\n",
        "likes/films.csv": b"Date,Name,Year,Letterboxd URI\n",
    }
    rows = read_history(Source.LETTERBOXD, "letterboxd-someone-2023-08-01.zip", zipped(export))
    # watched.csv's Kahaani, Drishyam and Gangs of Wasseypur are in ratings.csv: only Andhadhun stays.
    assert rows == [
        *LETTERBOXD_RATED,
        film("watched.csv", 4, "Andhadhun", 2018, date=day(2023, 6, 11)),
        *LETTERBOXD_WATCHLIST,
    ]


def test_letterboxd_zip_of_the_unpacked_export_folder_is_read_with_the_members_names() -> None:
    export = {f"letterboxd-someone/{name}": content for name, content in letterboxd_export().items()}
    rows = read_history(Source.LETTERBOXD, "again.zip", zipped(export))
    assert [(row.file, row.line) for row in rows][:2] == [
        ("letterboxd-someone/ratings.csv", 2),
        ("letterboxd-someone/ratings.csv", 3),
    ]
    assert len(rows) == 9


def test_letterboxd_zip_with_only_a_watchlist_is_read() -> None:
    rows = read_history(Source.LETTERBOXD, "export.zip", zipped({"watchlist.csv": sample("letterboxd/watchlist.csv")}))
    assert rows == LETTERBOXD_WATCHLIST


def test_imdb_ratings_export_halves_each_rating_and_keeps_the_title_id() -> None:
    assert read_history(Source.IMDB, "imdb_ratings.csv", sample("imdb_ratings.csv")) == [
        film("imdb_ratings.csv", 2, "Kahaani", 2012, rating=4.5, date=day(2022, 11, 5), imdb_id="tt9900001"),
        film("imdb_ratings.csv", 3, "Drishyam", 2015, rating=3.5, date=day(2022, 11, 6), imdb_id="tt9900002"),
        film(
            "imdb_ratings.csv", 4, "The Untitled Sequel", 2019, rating=0.5, date=day(2022, 12, 24), imdb_id="tt9900003"
        ),
        # Series are read too; the catalogue has films only, so matching finds none for them.
        film("imdb_ratings.csv", 5, "Sacred Games", 2018, rating=5.0, date=day(2023, 1, 2), imdb_id="tt9900004"),
        film("imdb_ratings.csv", 6, "Talvar", 2015, rating=3.0, date=None, imdb_id="tt9900005"),
    ]


@pytest.mark.parametrize(
    ("imdb_rating", "stars"),
    [(1, 0.5), (2, 1.0), (3, 1.5), (4, 2.0), (5, 2.5), (6, 3.0), (7, 3.5), (8, 4.0), (9, 4.5), (10, 5.0)],
)
def test_imdb_ratings_from_1_to_10_become_half_stars(imdb_rating: int, stars: float) -> None:
    assert imdb_stars(imdb_rating) == stars
    data = IMDB_HEADER + f"tt0000001,{imdb_rating},2020-05-06,A Film,A Film,,Movie,7.0,90,2001,Drama,10,,\n"
    assert [row.rating for row in read_history(Source.IMDB, "ratings.csv", data.encode())] == [stars]


def test_imdb_ratings_between_whole_numbers_round_to_the_nearest_half_star() -> None:
    # 7.4 / 2 = 3.7, nearest half 3.5; 8.6 / 2 = 4.3, nearest half 4.5; 7.5 / 2 = 3.75, halfway: up to 4.
    assert (imdb_stars(7.4), imdb_stars(8.6), imdb_stars(7.5)) == (3.5, 4.5, 4.0)


def test_imdb_export_without_the_newer_columns_needs_only_the_columns_read() -> None:
    older = "const,your rating,date rated,Title,URL,Title Type,Year\ntt0000002,8,2015-03-01,Old Export,,movie,1999\n"
    assert read_history(Source.IMDB, "ratings.csv", older.encode()) == [
        film("ratings.csv", 2, "Old Export", 1999, rating=4.0, date=day(2015, 3, 1), imdb_id="tt0000002")
    ]


def test_goodreads_export_reads_authors_isbns_stars_and_the_to_read_shelf() -> None:
    assert read_history(Source.GOODREADS, "goodreads_library_export.csv", sample("goodreads_library_export.csv")) == [
        book(2, "The Guide", 1958, ("R.K. Narayan",), isbn13="9780141000022", rating=5.0, date=day(2021, 8, 14)),
        # No ISBN13: the ISBN-10 812911111X converted; no Date Read: the Date Added.
        book(
            3, "Train to Pakistan", 1956, ("Khushwant Singh",), isbn13="9788129111111", rating=4.0, date=day(2022, 1, 9)
        ),
        # The review above spans lines 3 to 6, so this row starts on line 7; no original year: the edition's.
        book(7, "Q & A", 2006, ("Vikas Swarup",), isbn13=None, rating=None, want=True, date=day(2023, 5, 2)),
        # ISBN13 9789354000011 has a wrong check digit (0 is right): no ISBN rather than a refusal.
        book(8, "The White Tiger", 2008, ("Aravind Adiga",), isbn13=None, rating=None, date=day(2023, 6, 18)),
        book(
            9,
            "Devdas",
            1917,
            ("Sarat Chandra Chattopadhyay", "Sreejata Guha", "Amitava Ray"),
            isbn13="9789354000126",
            rating=3.0,
            date=day(2020, 2, 29),
        ),
    ]


@pytest.mark.parametrize(
    ("isbn", "isbn13"),
    [
        # 0141000023: 0·10 + 1·9 + 4·8 + 1·7 + 0·6 + 0·5 + 0·4 + 0·3 + 2·2 + 3·1 = 55 = 5 · 11, valid.
        # 978014100002: 9 + 7·3 + 8 + 0·3 + 1 + 4·3 + 1 + 0·3 + 0 + 0·3 + 0 + 2·3 = 58, check digit 10 - 8 = 2.
        ("0141000023", "9780141000022"),
        # 812911111X: 80 + 9 + 16 + 63 + 6 + 5 + 4 + 3 + 2 + X=10 = 198 = 18 · 11, valid.
        # 978812911111: 9 + 21 + 8 + 24 + 1 + 6 + 9 + 3 + 1 + 3 + 1 + 3 = 89, check digit 10 - 9 = 1.
        ("812911111X", "9788129111111"),
        ('="812911111X"', "9788129111111"),
        ("81-2911-111-x", "9788129111111"),
        ("9780141000022", "9780141000022"),
        ('="978-0-14-100002-2"', "9780141000022"),
        # 979000000001: 9 + 21 + 9 + 0 ... + 1·3 = 42, check digit 8.
        ("9790000000018", "9790000000018"),
        ("0141000024", None),  # sum 56, not a multiple of 11
        ("9780141000023", None),  # check digit 3, should be 2
        ("9770141000022", None),  # a 977 code is an ISSN, not an ISBN
        ("", None),
        ('=""', None),
        ("=HYPERLINK(1)", None),
        ("014100002", None),
    ],
)
def test_isbn_10_becomes_isbn_13_with_a_new_check_digit_and_invalid_isbns_become_none(
    isbn: str, isbn13: str | None
) -> None:
    assert to_isbn13(isbn) == isbn13


def test_an_imdb_or_goodreads_zip_holding_just_its_csv_is_read() -> None:
    rows = read_history(Source.IMDB, "imdb.zip", zipped({"ratings.csv": sample("imdb_ratings.csv")}))
    assert [(row.file, row.line, row.imdb_id) for row in rows][:2] == [
        ("ratings.csv", 2, "tt9900001"),
        ("ratings.csv", 3, "tt9900002"),
    ]
    rows = read_history(
        Source.GOODREADS, "books.zip", zipped({"goodreads_library_export.csv": sample("goodreads_library_export.csv")})
    )
    assert len(rows) == 5


def test_a_bom_crlf_line_ends_blank_lines_and_short_rows_are_read() -> None:
    data = (
        b"\xef\xbb\xbf"
        + (LETTERBOXD_HEADER + "\n2023-01-14,Kahaani,2012,https://boxd.it/zq01\n").replace("\n", "\r\n").encode()
    )
    assert read_history(Source.LETTERBOXD, "ratings.csv", data) == [
        film("ratings.csv", 3, "Kahaani", 2012, date=day(2023, 1, 14))
    ]


def test_a_header_without_rows_is_an_empty_history() -> None:
    assert read_history(Source.LETTERBOXD, "ratings.csv", LETTERBOXD_HEADER.encode()) == []


def test_an_import_file_error_answers_422_on_the_file_field() -> None:
    error = ImportFileError("ratings.csv is empty")
    assert isinstance(error, InvalidInputError)
    assert (error.status_code, error.code, error.field, error.message) == (
        422,
        "validation_error",
        "file",
        "ratings.csv is empty",
    )
    assert MAX_FILE_BYTES == 20 * 1024 * 1024


@pytest.mark.parametrize(
    ("source", "filename", "message"),
    [
        (
            Source.LETTERBOXD,
            "imdb_ratings.csv",
            "imdb_ratings.csv: this looks like an IMDb ratings export, not Letterboxd's",
        ),
        (
            Source.IMDB,
            "goodreads_library_export.csv",
            "goodreads_library_export.csv: this looks like a Goodreads library export, not IMDb's",
        ),
        (
            Source.GOODREADS,
            "letterboxd/ratings.csv",
            "ratings.csv: this looks like a Letterboxd export, not Goodreads'",
        ),
        (
            Source.LETTERBOXD,
            "goodreads_library_export.csv",
            "goodreads_library_export.csv: this looks like a Goodreads library export, not Letterboxd's",
        ),
    ],
)
def test_another_services_export_is_refused_saying_whose_it_looks_like(
    source: Source, filename: str, message: str
) -> None:
    assert refusal(source, filename, sample(filename)) == message


def test_a_letterboxd_zip_uploaded_as_imdb_is_refused_saying_whose_it_looks_like() -> None:
    message = refusal(Source.IMDB, "export.zip", zipped(letterboxd_export()))
    assert message == "export.zip: this looks like a Letterboxd export, not IMDb's"


def test_missing_columns_are_named() -> None:
    data = "Const,Your Rating,Title,URL\ntt0000001,7,A Film,\n"
    assert refusal(Source.IMDB, "ratings.csv", data) == (
        "ratings.csv lacks the columns 'Date Rated', 'Year' of an IMDb ratings export"
    )
    assert refusal(Source.LETTERBOXD, "ratings.csv", "Name,Year,Letterboxd URI,Rating\n") == (
        "ratings.csv lacks the column 'Date' of a Letterboxd export"
    )
    assert refusal(Source.GOODREADS, "books.csv", "Title,Author\n") == (
        "books.csv lacks the columns 'Additional Authors', 'ISBN', 'ISBN13', 'My Rating', 'Year Published', "
        "'Original Publication Year', 'Date Read', 'Date Added', 'Exclusive Shelf' of a Goodreads library export"
    )


def test_a_file_that_is_not_utf8_is_refused_naming_the_line_of_the_first_bad_byte() -> None:
    # "Amélie" saved as Latin-1 on line 3: é is the byte 0xe9.
    data = (LETTERBOXD_HEADER + "2023-01-14,Kahaani,2012,https://boxd.it/zq01,4\n").encode() + (
        b"2023-01-15,Am\xe9lie,2001,https://boxd.it/zq09,4\n"
    )
    assert refusal(Source.LETTERBOXD, "ratings.csv", data) == (
        "ratings.csv is not UTF-8 text: line 3 holds the byte 0xe9, which UTF-8 does not allow; "
        "save the file as UTF-8 and upload it again"
    )


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\r\n  \n", b",,,\n,,\n"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    assert refusal(Source.IMDB, "ratings.csv", data) == "ratings.csv is empty"


def test_letterboxds_diary_alone_is_refused_with_the_files_to_upload() -> None:
    data = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
    assert refusal(Source.LETTERBOXD, "diary.csv", data) == (
        "diary.csv is Letterboxd's diary or reviews; upload ratings.csv, watched.csv or watchlist.csv, "
        "or the whole export ZIP"
    )


@pytest.mark.parametrize(
    ("source", "data", "message"),
    [
        (
            Source.LETTERBOXD,
            LETTERBOXD_HEADER + "2023-01-14,Kahaani,2012,https://boxd.it/zq01,4.3\n",
            "ratings.csv, line 2, column Rating: '4.3' is not a Letterboxd rating (0.5 to 5 in half stars)",
        ),
        (
            Source.LETTERBOXD,
            LETTERBOXD_HEADER + "2023-01-14,Kahaani,2012,https://boxd.it/zq01,5\n2023-01-14,Talvar,2015,,0\n",
            "ratings.csv, line 3, column Rating: '0' is not a Letterboxd rating (0.5 to 5 in half stars)",
        ),
        (
            Source.LETTERBOXD,
            LETTERBOXD_HEADER + "2023-01-14,Kahaani,20x2,https://boxd.it/zq01,4\n",
            "ratings.csv, line 2, column Year: '20x2' is not a year",
        ),
        (
            Source.LETTERBOXD,
            LETTERBOXD_HEADER + "2023-02-30,Kahaani,2012,https://boxd.it/zq01,4\n",
            "ratings.csv, line 2, column Date: '2023-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            Source.LETTERBOXD,
            LETTERBOXD_HEADER + "2023-01-14,,2012,https://boxd.it/zq01,4\n",
            "ratings.csv, line 2, column Name: the title is empty",
        ),
        (
            Source.IMDB,
            IMDB_HEADER + "tt0000001,11,2020-05-06,A Film,A Film,,Movie,7.0,90,2001,Drama,10,,\n",
            "ratings.csv, line 2, column Your Rating: '11' is not an IMDb rating (1 to 10)",
        ),
        (
            Source.IMDB,
            IMDB_HEADER + "tt0000001,seven,2020-05-06,A Film,A Film,,Movie,7.0,90,2001,Drama,10,,\n",
            "ratings.csv, line 2, column Your Rating: 'seven' is not an IMDb rating (1 to 10)",
        ),
        (
            Source.IMDB,
            IMDB_HEADER + "tt0000001,7,06/05/2020,A Film,A Film,,Movie,7.0,90,2001,Drama,10,,\n",
            "ratings.csv, line 2, column Date Rated: '06/05/2020' is not a date (YYYY-MM-DD)",
        ),
        (
            Source.IMDB,
            IMDB_HEADER + "nm0000001,7,2020-05-06,A Person,A Person,,Movie,7.0,90,2001,Drama,10,,\n",
            "ratings.csv, line 2, column Const: 'nm0000001' is not an IMDb title id",
        ),
        (
            Source.GOODREADS,
            GOODREADS_HEADER + '1,A Book,An Author,,,"=""""","=""""",2.5,3.0,,,,2001,,,2020/01/02,,,read,,,,1,0\n',
            "ratings.csv, line 2, column My Rating: '2.5' is not a Goodreads rating (0 to 5 stars)",
        ),
        (
            Source.GOODREADS,
            GOODREADS_HEADER
            + '1,A Book,An Author,,,"=""""","=""""",4,3.0,,,,2001,,2020-13-01,2020/01/02,,,read,,,,1,0\n',
            "ratings.csv, line 2, column Date Read: '2020-13-01' is not a date (YYYY/MM/DD)",
        ),
    ],
)
def test_an_unreadable_rating_year_date_or_id_is_refused_naming_file_line_and_column(
    source: Source, data: str, message: str
) -> None:
    assert refusal(source, "ratings.csv", data) == message


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('"=HYPERLINK(""http://example.test"")"', "'='"),
        ("=1+1", "'='"),
        ("@SUM(1)", "'@'"),
        ("+cmd", "'+'"),
        ("-2+3+cmd|' /C calc'!A0", None),  # a sign before a digit: read as a title
        ("-cmd", "'-'"),
        ('"\tKahaani"', "a tab"),
        ('"\rKahaani"', "a carriage return"),
        ("  =1+1", "'='"),
    ],
)
def test_a_title_starting_like_a_spreadsheet_formula_is_refused_naming_line_and_column(
    cell: str, shown: str | None
) -> None:
    data = LETTERBOXD_HEADER + f"2023-01-14,Kahaani,2012,https://boxd.it/zq01,4\n2023-01-15,{cell},2012,,4\n"
    if shown is None:
        assert read_history(Source.LETTERBOXD, "ratings.csv", data.encode())[1].title == "-2+3+cmd|' /C calc'!A0"
        return
    assert refusal(Source.LETTERBOXD, "ratings.csv", data) == (
        f"ratings.csv, line 3, column Name: the cell starts with {shown} as a spreadsheet formula does; "
        "remove it and upload the file again"
    )


@pytest.mark.parametrize(
    ("author", "additional", "column"),
    [("@Someone", "", "Author"), ("An Author", '"A Translator, =cmd"', "Additional Authors")],
)
def test_a_goodreads_author_starting_like_a_formula_is_refused(author: str, additional: str, column: str) -> None:
    data = GOODREADS_HEADER + (
        f'1,A Book,{author},,{additional},"=""0141000023""","=""""",4,3.0,,,,2001,,,2020/01/02,,,read,,,,1,0\n'
    )
    message = refusal(Source.GOODREADS, "books.csv", data)
    assert message.startswith(f"books.csv, line 2, column {column}: the cell starts with ")


def test_goodreads_isbn_wrappers_are_not_taken_for_formulas() -> None:
    data = (
        GOODREADS_HEADER + '1,A Book,An Author,,,"=""0141000023""","=""""",4,3.0,,,,2001,,,2020/01/02,,,read,,,,1,0\n'
    )
    assert read_history(Source.GOODREADS, "books.csv", data.encode())[0].isbn13 == "9780141000022"


def test_a_title_holding_nul_is_refused() -> None:
    data = LETTERBOXD_HEADER + "2023-01-14,Kah\x00aani,2012,https://boxd.it/zq01,4\n"
    assert refusal(Source.LETTERBOXD, "ratings.csv", data) == (
        "ratings.csv, line 2, column Name: the cell holds a NUL character"
    )


def test_a_zip_of_more_than_100_entries_is_refused() -> None:
    members = {f"lists/list-{number}.csv": b"x" for number in range(100)} | {"ratings.csv": b"x"}
    assert refusal(Source.LETTERBOXD, "export.zip", zipped(members)) == (
        "export.zip holds 101 entries; an import ZIP may hold at most 100"
    )


def test_a_zip_unpacking_to_more_than_50_mb_is_refused() -> None:
    # Stored, not compressed: the size alone is over, not the expansion.
    members = {"ratings.csv": b"a" * (50 * 1024 * 1024 + 1)}
    assert refusal(Source.LETTERBOXD, "export.zip", zipped(members, zipfile.ZIP_STORED)) == (
        "export.zip unpacks to more than 50 MB; an import ZIP may unpack to at most 50 MB"
    )


def test_a_zip_member_expanding_more_than_100_times_is_refused_as_a_bomb() -> None:
    members = {"ratings.csv": LETTERBOXD_HEADER.encode() + b"0" * 1024 * 1024}
    assert refusal(Source.LETTERBOXD, "export.zip", zipped(members)) == (
        "export.zip: ratings.csv expands more than 100 times its packed size, as a ZIP bomb does; it is refused"
    )


def test_reading_a_member_stops_past_its_limit_whatever_its_header_claimed() -> None:
    assert _read_at_most(io.BytesIO(b"0123456789"), 10) == b"0123456789"
    assert _read_at_most(io.BytesIO(b"0123456789a"), 10) is None


def test_a_zip_without_letterboxds_csvs_is_refused() -> None:
    members = {"diary.csv": b"Date,Name\n", "other/ratings.csv": b"x", "more/watched.csv": b"x"}
    assert refusal(Source.LETTERBOXD, "export.zip", zipped(members)) == (
        "export.zip holds none of ratings.csv, watched.csv and watchlist.csv of a Letterboxd export"
    )


def test_an_imdb_zip_holding_more_than_its_csv_is_refused() -> None:
    members = {"ratings.csv": sample("imdb_ratings.csv"), "notes.txt": b"hello"}
    assert refusal(Source.IMDB, "imdb.zip", zipped(members)) == (
        "imdb.zip must hold exactly one CSV file, an IMDb ratings export; it holds 2 files"
    )


def test_a_damaged_zip_is_refused() -> None:
    archive = zipped({"ratings.csv": sample("letterboxd/ratings.csv")}, zipfile.ZIP_STORED)
    damaged = archive.replace(b"Kahaani", b"Kahaan!")
    assert refusal(Source.LETTERBOXD, "export.zip", damaged) == (
        "export.zip: ratings.csv cannot be unpacked (damaged, encrypted or packed with a method this import "
        "does not read)"
    )
    assert refusal(Source.LETTERBOXD, "export.zip", b"PK\x03\x04 not a zip") == (
        "export.zip is not a readable ZIP archive"
    )


def test_a_member_of_a_zip_is_named_in_its_errors() -> None:
    members = {"ratings.csv": (LETTERBOXD_HEADER + "2023-01-14,=cmd,2012,,4\n").encode()}
    assert refusal(Source.LETTERBOXD, "export.zip", zipped(members)) == (
        "ratings.csv, line 2, column Name: the cell starts with '=' as a spreadsheet formula does; "
        "remove it and upload the file again"
    )


def test_letterboxd_rows_without_an_address_are_matched_across_files_by_name_and_year_only() -> None:
    export = {
        "ratings.csv": (LETTERBOXD_HEADER + "2023-01-14,Kahaani,2012,,4\n").encode(),
        "watched.csv": b"Date,Name,Year,Letterboxd URI\n2023-01-14,Kahaani,2012,\n2023-01-15,Talvar,2015,\n",
    }
    assert read_history(Source.LETTERBOXD, "export.zip", zipped(export)) == [
        film("ratings.csv", 2, "Kahaani", 2012, rating=4.0, date=day(2023, 1, 14)),
        film("watched.csv", 3, "Talvar", 2015, date=day(2023, 1, 15)),
    ]
