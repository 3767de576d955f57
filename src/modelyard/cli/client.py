"""Client commands: ``login``, ``logout``, ``whoami``, ``upload``, ``download``.

They use ``huggingface_hub`` against the hub named by ``HF_ENDPOINT`` (read when the command runs), store
the token where ``huggingface_hub`` looks for it (``$HF_HOME/token``, mode 0600), and upload large files
through Xet where the hub speaks it, else through Git LFS (``modelyard.hub.xet``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from modelyard.cli import tokens
from modelyard.hub import settings, translate
from modelyard.hub.xet import xet_only_if_supported


class CommandError(Exception):
    """A failure to report as ``error: <message>`` with exit status 1."""


# -- settings and errors: the library's own (modelyard.hub.settings, modelyard.hub.translate) ------------------
endpoint = settings.endpoint
token_path = settings.token_path
stored_token = settings.stored_token
write_token = settings.write_token
unreachable_message = translate.unreachable_message
_transport_errors = translate.transport_errors


def _api(token: str | None) -> Any:
    """An ``HfApi`` bound to ``HF_ENDPOINT``."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token, library_name="modelyard")


def _hub_errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    return (HfHubHTTPError, EntryNotFoundError, LocalEntryNotFoundError, OSError, ValueError, *_transport_errors())


def _describe(err: BaseException, action: str) -> str:
    translated = translate.translate(err, action)
    return str(translated) if translated is not None else str(err)


# -- commands -------------------------------------------------------------------------------------------
def add_commands(commands: argparse._SubParsersAction) -> None:
    login = commands.add_parser("login", help="save a hub token for later commands and libraries")
    login.add_argument("--token", default=None, help="the token (asked for when omitted)")
    login.set_defaults(handler=_login)
    logout = commands.add_parser("logout", help="delete the saved token")
    logout.set_defaults(handler=_logout)
    whoami = commands.add_parser("whoami", help="show who the saved token belongs to")
    whoami.add_argument("--token", default=None)
    whoami.set_defaults(handler=_whoami)

    upload = commands.add_parser("upload", help="upload a file or folder to a repository (created if missing)")
    upload.add_argument("repo_id", help="namespace/name")
    upload.add_argument("local_path", type=Path)
    upload.add_argument("path_in_repo", nargs="?", default=None,
                        help="destination in the repo (default: the file name, or the root for a folder)")
    upload.add_argument("--repo-type", choices=["model", "dataset", "space"], default="model")
    upload.add_argument("--revision", default=None, help="branch to commit to (default main)")
    upload.add_argument("--private", action="store_true", help="create the repository as private")
    upload.add_argument("--commit-message", default=None)
    upload.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    upload.add_argument("--token", default=None)
    upload.set_defaults(handler=_upload)

    download = commands.add_parser("download", help="download files (or a whole snapshot) of a repository")
    download.add_argument("repo_id")
    download.add_argument("files", nargs="*", help="files to fetch (default: the whole repository)")
    download.add_argument("--revision", default=None, help="branch, tag or commit id")
    download.add_argument("--repo-type", choices=["model", "dataset", "space"], default="model")
    download.add_argument("--local-dir", type=Path, default=None, help="copy files here instead of the cache")
    download.add_argument("--cache-dir", type=Path, default=None)
    download.add_argument("--token", default=None)
    download.set_defaults(handler=_download)


def _login(args: argparse.Namespace) -> int:
    from huggingface_hub.errors import HfHubHTTPError

    token = args.token or getpass.getpass(f"Token for {endpoint()}: ").strip()
    if not token:
        raise CommandError("No token given; pass --token or type one at the prompt.")
    try:
        info = _api(token).whoami(token=token)
    except _transport_errors() as err:
        raise CommandError(unreachable_message(err, "check the token") + " Nothing was saved.") from None
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status == 401:
            raise CommandError(f"{endpoint()} refused the token (401 Invalid credentials); nothing was saved. "
                               "Check the token, and that HF_ENDPOINT names the hub that issued it.") from None
        raise CommandError(f"{endpoint()} did not answer like a hub (HTTP {status} on /api/whoami-v2: {err}); "
                           "nothing was saved. Check HF_ENDPOINT.") from None
    except _hub_errors() as err:
        raise CommandError(f"{endpoint()} refused the token ({err}); nothing was saved. Check HF_ENDPOINT and "
                           "the token.") from None
    tokens.warn_before_replacing(token, endpoint(), token_path())
    path = write_token(token)
    tokens.remember(token, endpoint(), token_path(), name=f"modelyard-{info['name']}@{_host(endpoint())}")
    print(f"Logged in to {endpoint()} as {info['name']}; token saved to {path}.")
    return 0


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _logout(args: argparse.Namespace) -> int:
    path = token_path()
    if path.exists():
        path.unlink()
        print(f"Logged out: removed {path}.")
    else:
        print(f"Not logged in (no token at {path}).")
    if os.environ.get("HF_TOKEN"):
        print("Note: HF_TOKEN is still set in the environment and will keep being used.")
    return 0


def _whoami(args: argparse.Namespace) -> int:
    token = args.token or stored_token()
    if not token:
        raise CommandError("Not logged in: run `modelyard login` or set HF_TOKEN.")
    try:
        info = _api(token).whoami(token=token)
    except _hub_errors() as err:
        if isinstance(err, _transport_errors()):
            raise CommandError(unreachable_message(err, "check the token")) from None
        raise CommandError(f"{endpoint()} refused the token: {err}") from None
    print(info["name"])
    orgs = [o["name"] for o in info.get("orgs") or []]
    if orgs:
        print(f"orgs: {', '.join(orgs)}")
    return 0


def _upload(args: argparse.Namespace) -> int:
    local: Path = args.local_path
    if not local.exists():
        raise CommandError(f"Local path {str(local)!r} does not exist; give a file or folder to upload.")
    token = args.token or stored_token()
    api = _api(token)
    try:
        api.create_repo(args.repo_id, repo_type=args.repo_type, private=args.private or None, exist_ok=True)
        with xet_only_if_supported(endpoint(), args.repo_id, token=token, repo_type=args.repo_type,
                                   revision=args.revision, create_pr=args.create_pr):
            info = _send(api, args, local)
    except _hub_errors() as err:
        raise CommandError(f"Upload to {args.repo_id!r} on {endpoint()} failed: {_describe(err, 'upload')}") from None
    print(getattr(info, "pr_url", None) or str(info))
    return 0


def _send(api: Any, args: argparse.Namespace, local: Path) -> Any:
    if local.is_dir():
        return api.upload_folder(repo_id=args.repo_id, folder_path=local, path_in_repo=args.path_in_repo,
                                 repo_type=args.repo_type, revision=args.revision,
                                 commit_message=args.commit_message, create_pr=args.create_pr)
    return api.upload_file(path_or_fileobj=str(local), path_in_repo=args.path_in_repo or local.name,
                           repo_id=args.repo_id, repo_type=args.repo_type, revision=args.revision,
                           commit_message=args.commit_message, create_pr=args.create_pr)


def _download(args: argparse.Namespace) -> int:
    from huggingface_hub import hf_hub_download, snapshot_download

    token = args.token or stored_token()
    common = {"repo_type": args.repo_type, "revision": args.revision, "endpoint": endpoint(), "token": token,
              "cache_dir": args.cache_dir, "local_dir": args.local_dir}
    try:
        if not args.files:
            print(snapshot_download(args.repo_id, **common))
        else:
            for filename in args.files:
                print(hf_hub_download(args.repo_id, filename, **common))
    except _hub_errors() as err:
        raise CommandError(f"Download from {args.repo_id!r} on {endpoint()} failed: "
                           f"{_describe(err, 'download')}") from None
    sys.stdout.flush()
    return 0
