"""Client commands: ``login``, ``logout``, ``whoami``, ``upload``, ``download``.

They talk to the hub named by ``HF_ENDPOINT`` (read when the command runs) through the library's gateway
(:mod:`modelyard.hub.gateway`: its errors arrive translated), store the token where ``huggingface_hub`` looks
for it (``$HF_HOME/token``, mode 0600), and upload through the library's push path
(:class:`~modelyard.hub.push.PushTarget`: Xet where the hub speaks it, else Git LFS).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from modelyard.cli import tokens
from modelyard.errors import HubAuthenticationError, HubConnectionError, ModelyardError
from modelyard.hub import settings
from modelyard.hub.gateway import hub_client
from modelyard.hub.push import PushTarget


class CommandError(Exception):
    """A failure to report as ``error: <message>`` with exit status 1."""


# -- settings: the library's own (modelyard.hub.settings) -------------------------------------------------------
endpoint = settings.endpoint
token_path = settings.token_path
stored_token = settings.stored_token
write_token = settings.write_token

# What a failed hub command may raise: the gateway's translated errors, and the client's own checks of the
# arguments (an invalid repository name: ValueError) and of local files (OSError).
_FAILURES = (ModelyardError, OSError, ValueError)


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
    token = args.token or getpass.getpass(f"Token for {endpoint()}: ").strip()
    if not token:
        raise CommandError("No token given; pass --token or type one at the prompt.")
    try:
        info = hub_client("check the token", token=token).whoami()
    except HubConnectionError as err:
        raise CommandError(f"{err} Nothing was saved.") from None
    except HubAuthenticationError as err:
        raise CommandError(f"{endpoint()} refused the token ({err}); nothing was saved. Check the token, and that "
                           "HF_ENDPOINT names the hub that issued it.") from None
    except ModelyardError as err:
        raise CommandError(f"{endpoint()} did not answer like a hub on /api/whoami-v2 ({err}); nothing was saved. "
                           "Check HF_ENDPOINT.") from None
    except _FAILURES as err:
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
        info = hub_client("check the token", token=token).whoami()
    except HubConnectionError as err:
        raise CommandError(str(err)) from None
    except _FAILURES as err:
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
    try:
        target = PushTarget.prepare(args.repo_id, action="upload", token=args.token, private=args.private or None,
                                    repo_type=args.repo_type, revision=args.revision, create_pr=args.create_pr)
        if local.is_dir():
            info = target.commit_folder(local, message=args.commit_message, path_in_repo=args.path_in_repo)
        else:
            info = target.commit_file(local, args.path_in_repo or local.name, message=args.commit_message)
    except _FAILURES as err:
        raise CommandError(f"Upload to {args.repo_id!r} on {endpoint()} failed: {err}") from None
    print(getattr(info, "pr_url", None) or str(info))
    return 0


def _download(args: argparse.Namespace) -> int:
    client = hub_client("download", repo_id=args.repo_id, token=args.token)
    common = {"repo_type": args.repo_type, "revision": args.revision, "cache_dir": args.cache_dir,
              "local_dir": args.local_dir}
    try:
        if not args.files:
            print(client.snapshot_download(args.repo_id, **common))
        else:
            for filename in args.files:
                print(client.hf_hub_download(args.repo_id, filename, **common))
    except _FAILURES as err:
        raise CommandError(f"Download from {args.repo_id!r} on {endpoint()} failed: {err}") from None
    sys.stdout.flush()
    return 0
