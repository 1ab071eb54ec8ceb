"""Reading the histories other services export into HistoryRow lists: Letterboxd (its export ZIP,
or ratings.csv, watched.csv or watchlist.csv alone), IMDb (the ratings CSV) and Goodreads (the
library export). Pure parsing: no database, no network; every refusal is an ImportFileError whose
message names the file, and the line and column where one applies.

Line numbers are the text's physical lines, the header being line 1: a Goodreads review that spans
three lines moves the next row three lines down, as a text editor shows it.
"""

import csv
import io
import math
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import BinaryIO, Literal

from cinelibre.errors import InvalidInputError

# Uploads over this answer 413 before any parsing (the import route enforces it).
MAX_FILE_BYTES = 20 * 1024 * 1024

# A ZIP is unpacked in memory, so its size is bounded before and while it is read: a few hundred
# bytes can otherwise unpack to gigabytes (a "ZIP bomb"). A real export holds a few dozen files
# and text compresses about 5 to 10 times; these bounds leave room for a long history.
MAX_ZIP_ENTRIES = 100
MAX_ZIP_UNPACKED_BYTES = 50 * 1024 * 1024
MAX_ZIP_EXPANSION = 100
_ZIP_READ_CHUNK_BYTES = 1024 * 1024

LETTERBOXD_FILES = ("ratings.csv", "watched.csv", "watchlist.csv")


class Source(StrEnum):
    LETTERBOXD = "letterboxd"
    IMDB = "imdb"
    GOODREADS = "goodreads"


@dataclass(frozen=True)
class HistoryRow:
    file: str  # the CSV's name (inside a ZIP: the member's name)
    line: int  # the row's line in that CSV, the header being line 1
    item_type: Literal["movie", "book"]
    title: str  # as exported, whitespace trimmed
    year: int | None
    authors: tuple[str, ...]  # books: the author, then the additional authors; films: ()
    imdb_id: str | None  # "tt0111161" (IMDb's Const); None elsewhere
    isbn13: str | None  # the ISBN13, or the ISBN-10 converted; None if neither is a valid ISBN
    rating: float | None  # half stars from 0.5 to 5
    want: bool  # on the Letterboxd watchlist or the Goodreads "to-read" shelf
    date: datetime | None  # when it was rated, logged or read there (UTC midnight)


class ImportFileError(InvalidInputError):
    """An uploaded history the import cannot read; the message says what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


def read_history(source: Source, filename: str, data: bytes) -> list[HistoryRow]:
    """The rows of an uploaded export, in file order. A ZIP (recognised by its content, not its
    name) holds a Letterboxd export's ratings.csv, watched.csv and watchlist.csv, or the one CSV of
    an IMDb or Goodreads export."""
    name = PurePosixPath(filename.replace("\\", "/")).name or "upload"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _read_zip(source, name, data)
    if source is Source.LETTERBOXD:
        table = _table(name, data)
        return _letterboxd_rows([(table, _letterboxd_kind_of_lone_file(table))])
    return _read_single_csv(source, _table(name, data))


# --- Layouts -----------------------------------------------------------------------------------

_DESCRIPTIONS = {
    Source.LETTERBOXD: "a Letterboxd export",
    Source.IMDB: "an IMDb ratings export",
    Source.GOODREADS: "a Goodreads library export",
}
_POSSESSIVES = {Source.LETTERBOXD: "Letterboxd's", Source.IMDB: "IMDb's", Source.GOODREADS: "Goodreads'"}
# Columns only that service's exports have, to tell which service a file came from.
_MARKS = {
    Source.LETTERBOXD: {"letterboxd uri"},
    Source.IMDB: {"const", "your rating"},
    Source.GOODREADS: {"book id", "exclusive shelf"},
}

# Only the columns read are required: the services add and rename the others between versions.
_LETTERBOXD_LIST_COLUMNS = ("Date", "Name", "Year", "Letterboxd URI")
_LETTERBOXD_RATINGS_COLUMNS = (*_LETTERBOXD_LIST_COLUMNS, "Rating")
_IMDB_COLUMNS = ("Const", "Your Rating", "Date Rated", "Title", "Year")
_GOODREADS_COLUMNS = (
    "Title",
    "Author",
    "Additional Authors",
    "ISBN",
    "ISBN13",
    "My Rating",
    "Year Published",
    "Original Publication Year",
    "Date Read",
    "Date Added",
    "Exclusive Shelf",
)


@dataclass(frozen=True)
class _Table:
    file: str
    columns: dict[str, int]  # a header name, trimmed and case-folded -> its position
    rows: list[tuple[int, list[str]]]  # (line, cells) of each row with content

    def has(self, column: str) -> bool:
        return column.casefold() in self.columns

    def cell(self, cells: list[str], column: str) -> str:
        position = self.columns[column.casefold()]
        # A short row lacks its trailing cells; they are read as empty.
        return cells[position] if position < len(cells) else ""


def _table(file: str, data: bytes) -> _Table:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = _line_ends(data[: error.start].decode("utf-8-sig")) + 1
        raise ImportFileError(
            f"{file} is not UTF-8 text: line {line} holds the byte 0x{data[error.start]:02x}, "
            "which UTF-8 does not allow; save the file as UTF-8 and upload it again"
        ) from None
    if not text.strip():
        raise ImportFileError(f"{file} is empty")
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as error:
        raise ImportFileError(f"{file}, line {line}: not readable as CSV ({error})") from None
    if not records:
        raise ImportFileError(f"{file} is empty")
    (_, header), *rows = records
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        columns.setdefault(name.strip().casefold(), position)
    return _Table(file, columns, rows)


def _line_ends(text: str) -> int:
    # The same line breaks the csv module counts: \n, \r\n and a lone \r.
    return sum(1 for line in io.StringIO(text, newline="") if line.endswith(("\n", "\r")))


def _require_layout(table: _Table, source: Source, columns: tuple[str, ...]) -> None:
    present = set(table.columns)
    if not present & _MARKS[source]:
        for other, marks in _MARKS.items():
            if present & marks:
                raise ImportFileError(
                    f"{table.file}: this looks like {_DESCRIPTIONS[other]}, not {_POSSESSIVES[source]}"
                )
    missing = [column for column in columns if not table.has(column)]
    if missing:
        named = ", ".join(f"'{column}'" for column in missing)
        noun = "column" if len(missing) == 1 else "columns"
        raise ImportFileError(f"{table.file} lacks the {noun} {named} of {_DESCRIPTIONS[source]}")


# --- Cells -------------------------------------------------------------------------------------


def _where(table: _Table, line: int, column: str) -> str:
    return f"{table.file}, line {line}, column {column}"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


# Text that leaves this module (titles, authors) may be written to a CSV again and opened in a
# spreadsheet, which runs a cell starting with =, @, + or - as a formula (and some spreadsheets
# also after a leading tab or carriage return): "=HYPERLINK(...)" in a film's name would become a
# link or a command on someone's machine. Such cells are refused, with their place named. A + or
# - before a digit is a number's sign, which titles such as "+1" or "-40 Degrees" legitimately
# carry, and spreadsheets read it as a number, not a formula.
_FORMULA_STARTS = {"=": "'='", "@": "'@'", "+": "'+'", "-": "'-'"}
_CONTROL_STARTS = {"\t": "a tab", "\r": "a carriage return"}


def _safe_text(table: _Table, line: int, column: str, value: str) -> str:
    shown = _CONTROL_STARTS.get(value[:1])
    trimmed = value.strip()
    first = trimmed[:1]
    if shown is None and first in _FORMULA_STARTS and not (first in "+-" and trimmed[1:2].isdigit()):
        shown = _FORMULA_STARTS[first]
    if shown is not None:
        raise ImportFileError(
            f"{_where(table, line, column)}: the cell starts with {shown} as a spreadsheet formula does; "
            "remove it and upload the file again"
        )
    if "\x00" in trimmed:
        raise ImportFileError(f"{_where(table, line, column)}: the cell holds a NUL character")
    return trimmed


def _title(table: _Table, line: int, cells: list[str], column: str) -> str:
    title = _safe_text(table, line, column, table.cell(cells, column))
    if not title:
        raise ImportFileError(f"{_where(table, line, column)}: the title is empty")
    return title


_YEAR = re.compile(r"-?[0-9]{1,4}")
_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_DECIMAL = re.compile(r"[0-9]{1,2}(\.[0-9]+)?")


def _year(table: _Table, line: int, cells: list[str], column: str) -> int | None:
    value = table.cell(cells, column).strip()
    if not value:
        return None
    if not _YEAR.fullmatch(value):
        raise ImportFileError(f"{_where(table, line, column)}: {_shown(value)} is not a year")
    return int(value)


def _date(table: _Table, line: int, cells: list[str], column: str, form: str) -> datetime | None:
    value = table.cell(cells, column).strip()
    if not value:
        return None
    if match := _DATE.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            pass
    raise ImportFileError(f"{_where(table, line, column)}: {_shown(value)} is not a date ({form})")


def _number(
    table: _Table, line: int, cells: list[str], column: str, *, low: float, high: float, what: str
) -> float | None:
    value = table.cell(cells, column).strip()
    if not value:
        return None
    if _DECIMAL.fullmatch(value) and low <= float(value) <= high:
        return float(value)
    raise ImportFileError(f"{_where(table, line, column)}: {_shown(value)} is not {what}")


def imdb_stars(imdb_rating: float) -> float:
    """IMDb's 1-10 as half stars: halved, rounded to the nearest half (halves up), at least 0.5."""
    return max(0.5, math.floor(imdb_rating + 0.5) / 2)


# --- ISBNs -------------------------------------------------------------------------------------

# Goodreads writes ISBNs as ="0143039431" so that spreadsheets keep the leading zero: a known
# wrapper around digits, read here as the digits, not refused as a formula (nothing else in the
# cell survives: an ISBN that is not one becomes None).
_WRAPPED_ISBN = re.compile(r'="(.*)"')


def to_isbn13(value: str) -> str | None:
    """The 13 digits of a valid ISBN-13 (978/979) or of a valid ISBN-10 converted (978 prefix, check
    digit recomputed); None for anything else. Hyphens, spaces and Goodreads' ="..." are allowed."""
    value = value.strip()
    if wrapped := _WRAPPED_ISBN.fullmatch(value):
        value = wrapped.group(1)
    digits = value.replace("-", "").replace(" ", "").upper()
    if len(digits) == 13 and digits.isdigit() and digits.startswith(("978", "979")):
        return digits if _isbn13_check_digit(digits[:12]) == digits[12] else None
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        # ISBN-10: the digits weighted 10 down to 1 (X standing for 10) sum to a multiple of 11.
        total = sum((10 - position) * (10 if char == "X" else int(char)) for position, char in enumerate(digits))
        if total % 11 == 0:
            body = "978" + digits[:9]
            return body + _isbn13_check_digit(body)
    return None


def _isbn13_check_digit(first_twelve: str) -> str:
    # Weights 1, 3, 1, 3...; the check digit brings the sum to a multiple of 10.
    total = sum(int(char) * (3 if position % 2 else 1) for position, char in enumerate(first_twelve))
    return str(-total % 10)


# --- Letterboxd --------------------------------------------------------------------------------

_RATED, _WATCHED, _WATCHLIST = LETTERBOXD_FILES


def _letterboxd_kind_of_lone_file(table: _Table) -> str:
    # watched.csv and watchlist.csv share their columns: only the file's name tells them apart.
    if table.has("Watched Date") and table.has("Letterboxd URI"):
        raise ImportFileError(
            f"{table.file} is Letterboxd's diary or reviews; upload ratings.csv, watched.csv or "
            "watchlist.csv, or the whole export ZIP"
        )
    if table.has("Rating"):
        return _RATED
    return _WATCHLIST if "watchlist" in table.file.casefold() else _WATCHED


def _letterboxd_rows(tables: list[tuple[_Table, str]]) -> list[HistoryRow]:
    """Rows of ratings.csv, watched.csv and watchlist.csv. A watched film that is also rated is
    left out (its rating row says more); a rated film on the watchlist keeps both rows, the rating
    and the want, as the export has them."""
    rated_films: set[str | tuple[str, int | None]] = set()
    rows: list[HistoryRow] = []
    for table, kind in sorted(tables, key=lambda pair: LETTERBOXD_FILES.index(pair[1])):
        _require_layout(
            table, Source.LETTERBOXD, _LETTERBOXD_RATINGS_COLUMNS if kind == _RATED else _LETTERBOXD_LIST_COLUMNS
        )
        for line, cells in table.rows:
            row = HistoryRow(
                file=table.file,
                line=line,
                item_type="movie",
                title=_title(table, line, cells, "Name"),
                year=_year(table, line, cells, "Year"),
                authors=(),
                imdb_id=None,
                isbn13=None,
                rating=_letterboxd_rating(table, line, cells) if kind == _RATED else None,
                want=kind == _WATCHLIST,
                date=_date(table, line, cells, "Date", "YYYY-MM-DD"),
            )
            # The same film by its Letterboxd address, or by name and year should the address
            # take another form in one of the files (or be missing).
            film_keys: set[str | tuple[str, int | None]] = {(row.title.casefold(), row.year)}
            if address := table.cell(cells, "Letterboxd URI").strip():
                film_keys.add(address)
            if kind == _RATED:
                rated_films.update(film_keys)
            elif kind == _WATCHED and any(key in rated_films for key in film_keys):
                continue
            rows.append(row)
    return rows


def _letterboxd_rating(table: _Table, line: int, cells: list[str]) -> float | None:
    stars = _number(table, line, cells, "Rating", low=0.5, high=5, what="a Letterboxd rating (0.5 to 5 in half stars)")
    if stars is not None and not (stars * 2).is_integer():
        value = table.cell(cells, "Rating").strip()
        raise ImportFileError(
            f"{_where(table, line, 'Rating')}: {_shown(value)} is not a Letterboxd rating (0.5 to 5 in half stars)"
        )
    return stars


# --- IMDb and Goodreads ------------------------------------------------------------------------

_IMDB_ID = re.compile(r"tt[0-9]{7,10}")


def _read_single_csv(source: Source, table: _Table) -> list[HistoryRow]:
    if source is Source.IMDB:
        _require_layout(table, source, _IMDB_COLUMNS)
        return [_imdb_row(table, line, cells) for line, cells in table.rows]
    _require_layout(table, source, _GOODREADS_COLUMNS)
    return [_goodreads_row(table, line, cells) for line, cells in table.rows]


def _imdb_row(table: _Table, line: int, cells: list[str]) -> HistoryRow:
    imdb_id = table.cell(cells, "Const").strip()
    if not _IMDB_ID.fullmatch(imdb_id):
        raise ImportFileError(f"{_where(table, line, 'Const')}: {_shown(imdb_id)} is not an IMDb title id")
    rating = _number(table, line, cells, "Your Rating", low=1, high=10, what="an IMDb rating (1 to 10)")
    return HistoryRow(
        file=table.file,
        line=line,
        item_type="movie",
        title=_title(table, line, cells, "Title"),
        year=_year(table, line, cells, "Year"),
        authors=(),
        imdb_id=imdb_id,
        isbn13=None,
        rating=None if rating is None else imdb_stars(rating),
        want=False,
        date=_date(table, line, cells, "Date Rated", "YYYY-MM-DD"),
    )


def _goodreads_row(table: _Table, line: int, cells: list[str]) -> HistoryRow:
    stars = _number(table, line, cells, "My Rating", low=0, high=5, what="a Goodreads rating (0 to 5 stars)")
    if stars is not None and not stars.is_integer():
        value = table.cell(cells, "My Rating").strip()
        raise ImportFileError(
            f"{_where(table, line, 'My Rating')}: {_shown(value)} is not a Goodreads rating (0 to 5 stars)"
        )
    read_on = _date(table, line, cells, "Date Read", "YYYY/MM/DD")
    return HistoryRow(
        file=table.file,
        line=line,
        item_type="book",
        title=_title(table, line, cells, "Title"),
        # The work's first publication, not this edition's, is the year a catalogue knows it by.
        year=_year(table, line, cells, "Original Publication Year") or _year(table, line, cells, "Year Published"),
        authors=tuple(_goodreads_authors(table, line, cells)),
        imdb_id=None,
        isbn13=to_isbn13(table.cell(cells, "ISBN13")) or to_isbn13(table.cell(cells, "ISBN")),
        # Goodreads writes 0 for a book without a rating.
        rating=stars or None,
        want=table.cell(cells, "Exclusive Shelf").strip() == "to-read",
        date=read_on or _date(table, line, cells, "Date Added", "YYYY/MM/DD"),
    )


def _goodreads_authors(table: _Table, line: int, cells: list[str]) -> Iterator[str]:
    if author := _safe_text(table, line, "Author", table.cell(cells, "Author")):
        yield author
    # "Additional Authors" lists names separated by commas; each is a cell of its own once split.
    additional = _safe_text(table, line, "Additional Authors", table.cell(cells, "Additional Authors"))
    for name in additional.split(","):
        if name := _safe_text(table, line, "Additional Authors", name):
            yield name


# --- ZIP ---------------------------------------------------------------------------------------


def _read_zip(source: Source, archive_name: str, data: bytes) -> list[HistoryRow]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ImportFileError(f"{archive_name} is not a readable ZIP archive") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise ImportFileError(f"{archive_name} holds {len(entries)} entries; an import ZIP may hold at most 100")
        if sum(entry.file_size for entry in entries) > MAX_ZIP_UNPACKED_BYTES:
            raise _too_big_error(archive_name)
        for entry in entries:
            if _expands_too_much(entry.file_size, entry.compress_size):
                raise _bomb_error(archive_name, entry.filename)
        files = [
            entry
            for entry in entries
            if not entry.is_dir() and not entry.filename.startswith("__MACOSX/")  # macOS's resource forks
        ]
        letterboxd_files = _letterboxd_members(files)
        if source is Source.LETTERBOXD:
            if not letterboxd_files:
                raise ImportFileError(
                    f"{archive_name} holds none of ratings.csv, watched.csv and watchlist.csv of a Letterboxd export"
                )
            unpacked = _Unpacker(archive, archive_name)
            return _letterboxd_rows(
                [(_table(entry.filename, unpacked.read(entry)), kind) for kind, entry in letterboxd_files.items()]
            )
        if len(files) != 1 or not files[0].filename.casefold().endswith(".csv"):
            if len(letterboxd_files) > 1:
                raise ImportFileError(
                    f"{archive_name}: this looks like {_DESCRIPTIONS[Source.LETTERBOXD]}, not {_POSSESSIVES[source]}"
                )
            raise ImportFileError(
                f"{archive_name} must hold exactly one CSV file, {_DESCRIPTIONS[source]}; it holds {len(files)} files"
            )
        entry = files[0]
        return _read_single_csv(source, _table(entry.filename, _Unpacker(archive, archive_name).read(entry)))


def _letterboxd_members(files: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """ratings.csv, watched.csv and watchlist.csv at the ZIP's root, or else in its one folder (an
    export unpacked and zipped again). Letterboxd's other files (diary, reviews, lists...) are
    not read."""
    by_folder: dict[str, dict[str, zipfile.ZipInfo]] = {}
    for entry in files:
        path = PurePosixPath(entry.filename)
        if path.name.casefold() in LETTERBOXD_FILES and len(path.parts) <= 2:
            by_folder.setdefault(str(path.parent), {})[path.name.casefold()] = entry
    if "." in by_folder:
        return by_folder["."]
    return next(iter(by_folder.values())) if len(by_folder) == 1 else {}


def _expands_too_much(unpacked_bytes: int, packed_bytes: int) -> bool:
    return unpacked_bytes > MAX_ZIP_EXPANSION * max(packed_bytes, 1)


def _too_big_error(archive_name: str) -> ImportFileError:
    return ImportFileError(f"{archive_name} unpacks to more than 50 MB; an import ZIP may unpack to at most 50 MB")


def _bomb_error(archive_name: str, member: str) -> ImportFileError:
    return ImportFileError(
        f"{archive_name}: {member} expands more than 100 times its packed size, as a ZIP bomb does; it is refused"
    )


class _Unpacker:
    """Reads members while counting what they really unpack to: the sizes in a ZIP's headers are
    the sender's claims, so the bounds hold whatever the headers say."""

    def __init__(self, archive: zipfile.ZipFile, archive_name: str) -> None:
        self.archive = archive
        self.archive_name = archive_name
        self.bytes_left = MAX_ZIP_UNPACKED_BYTES

    def read(self, entry: zipfile.ZipInfo) -> bytes:
        limit = min(self.bytes_left, MAX_ZIP_EXPANSION * max(entry.compress_size, 1))
        try:
            with self.archive.open(entry) as member:
                content = _read_at_most(member, limit)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, zlib.error):
            # RuntimeError: encrypted; NotImplementedError: a compression zipfile lacks.
            raise ImportFileError(
                f"{self.archive_name}: {entry.filename} cannot be unpacked (damaged, encrypted or packed "
                "with a method this import does not read)"
            ) from None
        if content is None:
            if limit == self.bytes_left:
                raise _too_big_error(self.archive_name)
            raise _bomb_error(self.archive_name, entry.filename)
        self.bytes_left -= len(content)
        return content


def _read_at_most(stream: BinaryIO, limit: int) -> bytes | None:
    """The stream's bytes, or None as soon as it yields more than `limit` (never holding more than
    limit plus one chunk)."""
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(_ZIP_READ_CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
