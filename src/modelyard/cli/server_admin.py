"""``modelyard hub ...``: serve a hub, and manage its users, organisations and tokens.

The admin commands work directly on the backends the hub's settings name (``--config FILE`` or
``MODELYARD_HUB_CONFIG``, then ``MODELYARD_HUB_DATABASE_URL`` and ``MODELYARD_HUB_BLOB_STORE``, else the SQLite file
and blobs of the data folder), also while the server runs.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.cli.client import CommandError

if TYPE_CHECKING:
    import sqlalchemy

    from modelyard.server.config import HubSettings
    from modelyard.server.storage import Storage


def _data_dir_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--data-dir", type=Path, default=None,
                        help="the hub's data folder (default: $MODELYARD_HOME/hub or ~/.modelyard/hub)")
    parent.add_argument("--config", type=Path, default=None,
                        help="a TOML file of hub settings (database_url, blob_store, sizes...; default: "
                             "$MODELYARD_HUB_CONFIG); the environment and options override it")
    return parent


def add_commands(commands: argparse._SubParsersAction) -> None:
    common = _data_dir_parent()
    hub = commands.add_parser("hub", help="run and administer a self-hosted hub")
    sub = hub.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    hub.set_defaults(handler=lambda args: hub.print_help() or 2)

    serve = sub.add_parser("serve", parents=[common], help="start the hub server")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--public-url", default=None, help="URL clients use, when behind a proxy")
    serve.add_argument("--regular-max-size", default=None,
                       help="largest file accepted as a regular (non-LFS) upload, e.g. 10MB (default 10MiB)")
    serve.add_argument("--max-file-size", default=None, help="largest accepted file, e.g. 50GB")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(handler=_serve)

    migrate = sub.add_parser("migrate", parents=[common],
                             help="bring the hub database's schema up to this version (MODELYARD_HUB_DATABASE_URL)")
    migrate.set_defaults(handler=_migrate)

    export = sub.add_parser("export", parents=[common],
                            help="copy this hub (every row, every blob verified) into other backends, e.g. "
                                 "SQLite + files -> PostgreSQL + S3")
    export.add_argument("--to-database-url", required=True,
                        help="the target database (postgresql://...); migrated if new, must hold no hub data")
    export.add_argument("--to-blob-store", required=True, help="the target blob store: s3://bucket/prefix or "
                        "file:///path (S3 endpoint and credentials from the usual AWS settings)")
    export.set_defaults(handler=_export)

    _gc_and_scan_commands(sub, common)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", metavar="ACTION")
    user_add = user.add_parser("add", parents=[common], help="create a user")
    user_add.add_argument("name")
    user_add.add_argument("--org", action="append", default=[], help="organisation to join (created if missing)")
    user_add.add_argument("--fullname", default="")
    user_add.set_defaults(handler=_user_add)
    user_list = user.add_parser("list", parents=[common], help="list users and organisations")
    user_list.set_defaults(handler=_user_list)

    org = sub.add_parser("org", help="manage organisations").add_subparsers(dest="org_command", metavar="ACTION")
    org_add = org.add_parser("add", parents=[common], help="create an organisation")
    org_add.add_argument("name")
    org_add.add_argument("--member", action="append", default=[], help="existing user to add as member")
    org_add.add_argument("--fullname", default="")
    org_add.add_argument("--private-by-default", action="store_true",
                         help="repositories created without a visibility are private")
    org_add.set_defaults(handler=_org_add)
    org_set = org.add_parser("set", parents=[common], help="change an organisation's settings")
    org_set.add_argument("name")
    org_set.add_argument("--private-by-default", choices=["on", "off"], required=True,
                         help="whether repositories created without a visibility are private")
    org_set.set_defaults(handler=_org_set)

    token = sub.add_parser("token", help="manage access tokens").add_subparsers(dest="token_command",
                                                                               metavar="ACTION")
    create = token.add_parser("create", parents=[common], help="create a token (printed once, stored hashed)")
    create.add_argument("--user", required=True)
    create.add_argument("--role", choices=["read", "write"], default="write")
    create.add_argument("--name", default=None, help="display name of the token")
    create.set_defaults(handler=_token_create)
    revoke = token.add_parser("revoke", parents=[common], help="delete a user's tokens")
    revoke.add_argument("--user", required=True)
    revoke.add_argument("--name", default=None, help="only the token with this display name")
    revoke.set_defaults(handler=_token_revoke)


def _gc_and_scan_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    gc = sub.add_parser("gc", parents=[common], help="remove blobs, trees and temp files nothing references "
                        "(dry run unless --apply)")
    gc.add_argument("--apply", action="store_true", help="delete (default: only report what would go)")
    gc.add_argument("--grace", default="24h",
                    help="keep unreferenced blobs younger than this, since an upload may still commit them "
                         "(e.g. 24h, 30m, 0 when no client is uploading; default 24h)")
    gc.set_defaults(handler=_gc)
    scan = sub.add_parser("scan", parents=[common], help="security-scan stored files that have no scan result "
                          "(e.g. committed before their weights index)")
    scan.add_argument("--rescan", action="store_true", help="scan every pickle-based file again (e.g. after "
                      "upgrading picklescan)")
    scan.set_defaults(handler=_scan)


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``"24h"``, ``"30m"``, ``"90s"``, ``"2d"`` or plain seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if not match or match.group(2) not in _DURATION_UNITS:
        raise CommandError(f"--grace {text!r} is not a duration; write e.g. 24h, 30m, 90s, 2d or 0.")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _progress(items: Iterable[Any], total: int, what: str) -> Iterable[Any]:  # tqdm over items, on a terminal only
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=what, unit=" items", disable=None, leave=False)


def _gc(args: argparse.Namespace) -> int:
    from modelyard.server.blobstore_s3 import open_blob_store
    from modelyard.server.gc import collect_garbage

    grace = parse_duration(args.grace)
    settings = _settings(args)
    _require_database(settings)
    report = collect_garbage(_open_storage(settings), open_blob_store(settings.blob_store, settings.data_dir), grace=grace,
                             apply=args.apply, progress=_progress)
    print(f"Hub data folder {settings.data_dir}:")
    for sha, size in report.orphan_blobs[:50]:
        print(f"  blob {sha}  {size} bytes")
    if len(report.orphan_blobs) > 50:
        print(f"  ... and {len(report.orphan_blobs) - 50} more blobs")
    for path, size in report.stale_temp[:50]:
        print(f"  temp {path}  {size} bytes")
    print(report.summary())
    return 0


def _scan(args: argparse.Namespace) -> int:
    from modelyard.server.maintenance import scan_stored
    from modelyard.server.service import Hub

    settings = _settings(args)
    _require_database(settings)
    scanned, findings = scan_stored(Hub(settings), rescan=args.rescan, progress=_progress)
    for f in findings:
        prefix = "" if f.repo_type == "model" else f"{f.repo_type}s/"
        print(f"  {f.status:10} {prefix}{f.repo_id}/{f.path}: {f.message}")
    print(f"Scanned {scanned} file(s) in {settings.data_dir}; {len(findings)} with issues.")
    return 0


def _settings(args: argparse.Namespace, **extra: Any) -> HubSettings:
    from modelyard.server.config import HubSettings, parse_size

    sizes = {}
    for name in ("regular_max_size", "max_file_size"):
        value = getattr(args, name, None)
        if value is not None:
            try:
                sizes[name] = parse_size(value)
            except ValueError as err:
                raise CommandError(f"--{name.replace('_', '-')}: {err}") from None
    try:
        return HubSettings.from_env(config_file=getattr(args, "config", None), data_dir=args.data_dir, **sizes,
                                    **extra)
    except ValueError as err:
        raise CommandError(str(err)) from None


def _storage(args: argparse.Namespace) -> Storage:
    return _open_storage(_settings(args))


def _open_storage(settings: HubSettings, *, migrate: bool | None = None) -> Storage:
    """The configured metadata database; a schema this version cannot serve is a command error that says why."""
    from modelyard.server.storage import Storage
    from modelyard.server.storage.database import SchemaError

    try:
        return Storage(settings.database, migrate=migrate)
    except SchemaError as err:
        raise CommandError(str(err)) from None


def _require_database(settings: HubSettings) -> None:
    if settings.database_url is None and not settings.db_path.exists():
        raise CommandError(f"No hub database at {settings.db_path}; pass the --data-dir the hub was served with "
                           "(or set MODELYARD_HUB_DATABASE_URL).")


def _migrate(args: argparse.Namespace) -> int:
    from modelyard.server.storage.database import SchemaError
    from modelyard.server.storage.schema import upgrade_schema

    settings = _settings(args)
    storage_engine = _engine_of(settings)
    try:
        before, after = upgrade_schema(storage_engine)
    except SchemaError as err:
        raise CommandError(str(err)) from None
    finally:
        storage_engine.dispose()
    where = settings.describe_database()
    if before == after:
        print(f"The hub database {where} is at schema revision {after}: nothing to do.")
    else:
        print(f"Migrated the hub database {where} from schema revision {before or '(none)'} to {after}.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from modelyard.server.blobstore_s3 import open_blob_store
    from modelyard.server.storage import Storage
    from modelyard.server.storage.database import SchemaError
    from modelyard.server.storage.transfer import TargetNotEmpty
    from modelyard.server.transfer import ExportError, export_hub

    settings = _settings(args)
    _require_database(settings)
    source = _open_storage(settings)
    try:
        target = Storage(args.to_database_url, migrate=True)
        target_blobs = open_blob_store(args.to_blob_store, settings.data_dir / "export-tmp")
    except (SchemaError, ValueError) as err:
        raise CommandError(str(err)) from None
    try:
        report = export_hub(source, open_blob_store(settings.blob_store, settings.data_dir), target, target_blobs,
                            progress=lambda message: print(f"  {message}", flush=True))
    except (ExportError, TargetNotEmpty) as err:
        raise CommandError(f"Export stopped: {err}") from None
    finally:
        shutil.rmtree(settings.data_dir / "export-tmp", ignore_errors=True)  # the target store's temp and cache
    print(f"Exported the hub {settings.describe_database()} to {_without_password(args.to_database_url)} and "
          f"{target_blobs.location}: {report.summary()}.")
    print("Serve it with MODELYARD_HUB_DATABASE_URL and MODELYARD_HUB_BLOB_STORE set to those.")
    return 0


def _without_password(url: str) -> str:
    from modelyard.server.config import HubSettings

    return HubSettings(database_url=url).describe_database()


def _engine_of(settings: HubSettings) -> sqlalchemy.Engine:
    import sqlalchemy

    from modelyard.server.storage.database import database_url

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return sqlalchemy.create_engine(database_url(settings.database), isolation_level="AUTOCOMMIT")


def data_dir_option(data_dir: Path) -> str:
    """`` --data-dir X`` when ``X`` is not the default folder, so printed follow-up commands use the same hub."""
    from modelyard.server.config import default_data_dir

    if Path(data_dir).expanduser().resolve() == default_data_dir().expanduser().resolve():
        return ""
    return f" --data-dir {shlex.quote(str(data_dir))}"


def _serve(args: argparse.Namespace) -> int:
    from modelyard.server.serve import serve

    settings = _settings(args, host=args.host, port=args.port, public_url=args.public_url)
    storage = _open_storage(settings)
    url = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"modelyard hub serving at {url} (data folder: {settings.data_dir})", flush=True)
    where = data_dir_option(settings.data_dir)
    if not any(row["kind"] == "user" for row in storage.accounts.list_namespaces()):
        print(f"No users yet: run `modelyard hub user add NAME{where}` and "
              f"`modelyard hub token create --user NAME{where}`.", flush=True)
    print(f"Clients: export HF_ENDPOINT={url} (large files travel through Xet, or Git LFS for clients without "
          "hf_xet or with HF_HUB_DISABLE_XET=1)", flush=True)
    serve(settings, log_level=args.log_level)
    return 0


@contextlib.contextmanager
def _account_change() -> Iterator[None]:
    """An account change the database refuses (ValueError) or a name the hub's rules refuse (HubHTTPError)
    ends the command with its message."""
    from modelyard.server.errors import HubHTTPError

    try:
        yield
    except ValueError as err:
        raise CommandError(str(err)) from None
    except HubHTTPError as err:
        raise CommandError(err.message) from None


def _new_namespace(storage: Storage, name: str, kind: str, fullname: str = "") -> None:
    """Add the user or organisation ``name``, once the hub's naming rules accept it."""
    from modelyard.server.paths import check_namespace

    check_namespace(name)
    storage.accounts.add_namespace(name, kind, fullname)


def _user_add(args: argparse.Namespace) -> int:
    storage = _storage(args)
    with _account_change():
        _new_namespace(storage, args.name, "user", args.fullname)
        for org in args.org:
            if storage.accounts.namespace_kind(org) is None:
                _new_namespace(storage, org, "org")
            storage.accounts.add_member(org, args.name)
    orgs = f" (member of {', '.join(args.org)})" if args.org else ""
    settings = _settings(args)
    print(f"Created user {args.name}{orgs} in the hub database {settings.describe_database()} (data folder "
          f"{settings.data_dir}). Give them a token: modelyard hub token create --user {args.name}"
          f"{data_dir_option(settings.data_dir)}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    storage = _storage(args)
    for row in storage.accounts.list_namespaces():
        extra = ""
        if row["kind"] == "user":
            orgs = storage.accounts.user_orgs(row["name"])
            extra = f"  orgs: {', '.join(orgs)}" if orgs else ""
        print(f"{row['kind']:4}  {row['name']}{extra}")
    return 0


def _org_add(args: argparse.Namespace) -> int:
    storage = _storage(args)
    with _account_change():
        _new_namespace(storage, args.name, "org", args.fullname)
        for member in args.member:
            storage.accounts.add_member(args.name, member)
        if args.private_by_default:
            storage.accounts.set_default_private(args.name, True)
    print(f"Created organisation {args.name} in the hub database {_settings(args).describe_database()}.")
    return 0


def _org_set(args: argparse.Namespace) -> int:
    storage = _storage(args)
    with _account_change():
        storage.accounts.set_default_private(args.name, args.private_by_default == "on")
    which = "private" if args.private_by_default == "on" else "public"
    print(f"Repositories organisation {args.name} creates without a visibility are now {which}.")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    storage = _storage(args)
    try:
        token = storage.tokens.create(args.user, args.role, args.name)
    except ValueError as err:
        raise CommandError(str(err)) from None
    print(token)
    print(f"(a {args.role} token for {args.user} of the hub database {_settings(args).describe_database()}; it is shown "
          "only once)", file=sys.stderr)
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    count = _storage(args).tokens.revoke(args.user, args.name)
    print(f"Revoked {count} token(s) of {args.user}.")
    return 0
