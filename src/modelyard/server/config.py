"""Settings of the hub server: where data lives, where it listens, and the size limits.

Every field can come from a TOML file (``modelyard hub ... --config hub.toml`` or ``MODELYARD_HUB_CONFIG``: the
field names as keys, sizes as numbers or strings such as ``"50GiB"``), from the environment
(``MODELYARD_HUB_<FIELD>``, e.g. ``MODELYARD_HUB_PORT=8080``) or from command options, each overriding the one
before. One file names the backends for the server and for every admin command alike, so an operator does not
repeat the database URL in each shell. :meth:`HubSettings.from_env` reads them.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from modelyard.hub import settings

MiB = 1024 * 1024
GiB = 1024 * MiB


def default_data_dir() -> Path:
    """``$MODELYARD_HOME/hub`` (``~/.modelyard/hub`` when MODELYARD_HOME is unset): the library's setting."""
    return settings.hub_data_dir()


UNSAFE_PICKLE_POLICIES = ("refuse", "mark")


@dataclass
class HubSettings:
    """Configuration of one hub server instance.

    ``regular_max_size`` is the largest file that preupload answers ``regular`` for: such files travel
    base64-encoded inside the commit request. Bigger files are answered ``lfs``: a client with ``hf_xet``
    sends them through the hub's Xet storage, others (or with ``HF_HUB_DISABLE_XET=1``) through the LFS
    batch API.
    """

    data_dir: Path = field(default_factory=default_data_dir)
    # The metadata database: a SQLAlchemy URL (``postgresql://user:password@host:5432/hub`` for replicas sharing
    # one PostgreSQL); None keeps the embedded SQLite file ``<data_dir>/hub.sqlite``.
    database_url: str | None = None
    # Where blobs live: ``file:///path`` or ``s3://bucket/prefix`` (endpoint, region and credentials from the usual
    # AWS settings: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID...); None keeps ``<data_dir>``.
    blob_store: str | None = None
    # With an S3 blob store: answer downloads of LFS files with a redirect to a presigned GET of the object (the
    # hub carries no bytes), signed for `s3_public_endpoint` when clients reach the store at another URL than
    # the hub does. Off: the hub serves the bytes itself, as with the file store.
    blob_redirects: bool = True
    s3_public_endpoint: str | None = None
    # With an S3 blob store, each replica keeps copies of the blobs it served or received in its data folder, up to
    # this many bytes (least recently used evicted first; the bucket keeps serving them).
    blob_cache_size: int = 10 * GiB
    # With an S3 blob store: LFS uploads up to 5 GiB go straight to the bucket through presigned PUTs (multipart
    # above `lfs_multipart_threshold`), hashed there before the hub accepts them; off: through the hub.
    direct_uploads: bool = True
    # "text" (uvicorn's lines, with the request id) or "json" (one object per line, for log collectors).
    log_format: str = "text"
    host: str = "127.0.0.1"
    port: int = 8000
    # Absolute base URL clients reach the server at (behind a proxy); derived from each request when None.
    public_url: str | None = None
    max_file_size: int = 50 * GiB
    regular_max_size: int = 10 * MiB
    # LFS files at or above this size are uploaded in parts of `lfs_chunk_size` bytes (multipart transfer).
    lfs_multipart_threshold: int = 5 * GiB
    lfs_chunk_size: int = 512 * MiB
    # Lifetime of the signed LFS upload links handed out by the batch endpoint.
    lfs_link_ttl: int = 24 * 3600
    # Accept uploads through Xet (write tokens, the LFS batch API's "xet" transfer). Off: clients must send large
    # files through Git LFS (HF_HUB_DISABLE_XET=1); files already stored through Xet stay downloadable.
    xet_uploads: bool = True
    # Lifetime of the Xet access tokens handed out by xet-read-token / xet-write-token (clients refresh them),
    # and of the signed xorb download links in reconstruction answers (clients ask again on a 403).
    xet_token_ttl: int = 3600
    xet_link_ttl: int = 3600
    max_commit_operations: int = 25_000
    # Largest JSON or form request body (parsed in memory); README validation sends whole cards.
    json_body_limit: int = 32 * MiB
    tree_page_size: int = 1000
    tree_expand_page_size: int = 50
    commits_page_size: int = 50
    # Largest page of GET /api/models (datasets, spaces); `limit` asks for less.
    list_page_size: int = 1000
    # Pickle-based files larger than this are recorded as "not scanned" instead of scanned at commit time.
    scan_max_size: int = 20 * GiB
    # What a commit adding a pickle that the scan finds "unsafe" (it imports os.system, eval... to run code when
    # loaded) gets: "refuse" (the default: the commit is answered 400 and nothing lands) or "mark" (accepted and
    # marked unsafe in the API and on the pages, as the Hugging Face Hub does; for mirroring such repos).
    unsafe_pickles: str = "refuse"
    # Write uploaded blobs with O_DIRECT where the filesystem allows it: write-once data skips the page
    # cache (no second copy in memory, nothing left for fsync to flush); falls back to buffered writes.
    direct_io: bool = True

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        if self.blob_cache_size < 0:
            raise ValueError(f"HubSettings.blob_cache_size must be 0 or more bytes, got {self.blob_cache_size!r}.")
        for name in ("max_file_size", "regular_max_size", "lfs_multipart_threshold", "lfs_chunk_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"HubSettings.{name} must be a positive byte count, got {getattr(self, name)!r}.")
        for name in ("xet_token_ttl", "xet_link_ttl"):
            if getattr(self, name) <= 0:
                raise ValueError(f"HubSettings.{name} must be a positive number of seconds, got "
                                 f"{getattr(self, name)!r}.")
        if self.unsafe_pickles not in UNSAFE_PICKLE_POLICIES:
            raise ValueError(f"HubSettings.unsafe_pickles must be one of {', '.join(UNSAFE_PICKLE_POLICIES)}, got "
                             f"{self.unsafe_pickles!r}.")
        if self.log_format not in ("text", "json"):
            raise ValueError(f"HubSettings.log_format must be 'text' or 'json', got {self.log_format!r}.")
        if self.public_url is not None:
            self.public_url = self.public_url.rstrip("/")

    @classmethod
    def from_env(cls, *, config_file: str | Path | None = None, **overrides: object) -> HubSettings:
        """Build settings from a TOML file (``config_file``, else ``MODELYARD_HUB_CONFIG``), then the
        ``MODELYARD_HUB_*`` variables, then explicit ``overrides`` (those not None), each winning over the
        one before."""
        path = config_file or os.environ.get("MODELYARD_HUB_CONFIG") or None
        values: dict[str, object] = read_config_file(Path(path)) if path else {}
        for f in dataclasses.fields(cls):
            raw = os.environ.get(f"MODELYARD_HUB_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _from_text(f, raw, f"MODELYARD_HUB_{f.name.upper()}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def db_path(self) -> Path:
        return self.data_dir / "hub.sqlite"

    @property
    def database(self) -> str | Path:
        """What the metadata database is: ``database_url``, or the SQLite file in ``data_dir``."""
        return self.database_url or self.db_path

    def describe_database(self) -> str:
        """The database for messages: the SQLite path, or the URL without its password."""
        if not self.database_url:
            return str(self.db_path)
        return _without_password(self.database_url)


def _kind(f: dataclasses.Field) -> str:  # type: ignore[type-arg]
    """The field's annotation as text (``from __future__ import annotations`` makes them strings)."""
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _from_text(f: dataclasses.Field, raw: str, where: str) -> object:  # type: ignore[type-arg]
    kind = _kind(f)
    if kind == "bool":
        return parse_flag(raw, where)
    if kind == "int":
        try:
            return parse_size(raw)
        except ValueError as err:
            raise ValueError(f"{where}={raw!r}: {err}") from err
    return raw


def read_config_file(path: Path) -> dict[str, object]:
    """The settings a hub TOML file holds (top-level keys named like :class:`HubSettings` fields, or the same
    under a ``[hub]`` table), checked: an unknown key or a value of the wrong kind is an error naming it."""
    try:
        document = tomllib.loads(path.expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"The hub configuration file {path} does not exist; fix --config or "
                         "MODELYARD_HUB_CONFIG.") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ValueError(f"Cannot read the hub configuration file {path}: {err}") from None
    table = document.get("hub", document) if isinstance(document.get("hub"), dict) else document
    fields = {f.name: f for f in dataclasses.fields(HubSettings)}
    values: dict[str, object] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Known keys: {', '.join(sorted(fields))}."
            raise ValueError(f"{path}: unknown hub setting {key!r}.{hint}")
        where = f"{path}: {key}"
        kind = _kind(fields[name])
        if isinstance(value, str):
            values[name] = _from_text(fields[name], value, where)
        elif kind == "bool" and isinstance(value, bool):
            values[name] = value
        elif kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            values[name] = value
        else:
            raise ValueError(f"{where} = {value!r}: expected {'a string' if 'str' in kind or 'Path' in kind else kind}"
                             f" ({kind}).")
    return values


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def parse_flag(text: str, name: str) -> bool:
    """Parse an on/off environment value (``1/true/yes/on`` or ``0/false/no/off``)."""
    cleaned = text.strip().lower()
    if cleaned in _TRUE or cleaned in _FALSE:
        return cleaned in _TRUE
    raise ValueError(f"{name}={text!r} is not an on/off value; write 1 or 0 (or true/false, yes/no, on/off).")


_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": MiB, "mb": MiB, "mib": MiB, "g": GiB,
          "gb": GiB, "gib": GiB, "t": 1024 * GiB, "tb": 1024 * GiB, "tib": 1024 * GiB}


def parse_size(text: str) -> int:
    """Parse ``"10MB"``, ``"512 MiB"``, ``"1g"`` or a plain integer into a byte count (binary units)."""
    cleaned = text.strip().lower().replace(" ", "").replace("_", "")
    digits = cleaned.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = cleaned[len(digits):]
    if not digits or unit not in _UNITS:
        raise ValueError(f"cannot read {text!r} as a size; write e.g. 1048576, 512MB or 2GiB")
    try:
        number = float(digits)
    except ValueError as err:
        raise ValueError(f"cannot read {text!r} as a size; write e.g. 1048576, 512MB or 2GiB") from err
    return int(number * _UNITS[unit])
