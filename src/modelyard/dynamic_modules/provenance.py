"""Did the publisher commit this? A trusted publisher vouches for the commits on its repository's branches.

Anyone may open a pull request on a public repository, and its ref (``refs/pr/N``) lives in the publisher's
repository; so may other refs nobody merged. Trust by namespace therefore holds only for a commit that one
of the repository's branches reaches (only writers of the namespace move branches):

- online: the branch heads from ``list_repo_refs``, then each branch's history from ``list_repo_commits``;
- offline: the refs the download cache recorded (``refs/<branch or tag>``, never ``refs/refs/pr/N``), which
  is all that can be known without the hub.

Anything else (a pull-request ref, an unreachable commit, a hub that cannot be asked) is not vouched for and
needs ``trust_remote_code=True``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from modelyard.hub import settings
from modelyard.hub.files import FileSource
from modelyard.hub.gateway import hub_client

logger = logging.getLogger(__name__)

PULL_REQUEST_PREFIX = "refs/pr/"


def _cached_refs(source: FileSource) -> dict[str, str]:
    """``{ref name: commit}`` as the download cache recorded them (branches and tags; pull requests apart)."""
    assert source.cache_dir is not None and source.repo_id is not None
    refs_dir = Path(source.cache_dir) / ("models--" + source.repo_id.replace("/", "--")) / "refs"
    found: dict[str, str] = {}
    if refs_dir.is_dir():
        for path in refs_dir.rglob("*"):
            if path.is_file():
                found[path.relative_to(refs_dir).as_posix()] = path.read_text().strip()
    return found


def _offline_reason(source: FileSource) -> str | None:
    commit = source.commit_hash
    branches = {name for name, target in _cached_refs(source).items() if target == commit and not name.startswith("refs/")}
    if branches:
        return None
    return (
        f"commit {commit} is not a branch head this machine's download cache has seen, and network access is off, "
        "so modelyard cannot check that the publisher committed it"
    )


def unvouched_reason(source: FileSource) -> str | None:
    """``None`` when ``source`` (a hub repository pinned to a commit) is code its publisher committed to a
    branch; otherwise why the publisher's trust does not cover it."""
    if source.is_local or source.repo_id is None or source.commit_hash is None:
        return "it is not a hub repository"
    revision = source.revision or ""
    if revision.startswith(PULL_REQUEST_PREFIX):
        return (
            f"revision {revision!r} is a pull request, which anyone may open on the repository; the publisher's "
            "trust covers only what it committed to its branches"
        )
    if source.local_files_only:
        return _offline_reason(source)
    commit = source.commit_hash
    api = hub_client(f"check which branches of {source.repo_id!r} hold commit {commit}", repo_id=source.repo_id,
                     token=source.token)
    try:
        refs = api.list_repo_refs(source.repo_id)
        heads = {branch.name: branch.target_commit for branch in refs.branches}
        if commit in heads.values():
            return None
        for branch in sorted(heads, key=lambda name: name != "main"):  # main first: the likeliest
            if any(entry.commit_id == commit for entry in api.list_repo_commits(source.repo_id, revision=branch)):
                return None
    except Exception as err:  # noqa: BLE001 - whatever the reason, the commit is not vouched for
        logger.debug("Could not list the refs of %s: %s", source.repo_id, err)
        return f"modelyard could not check on {settings.endpoint()} that a branch of {source.repo_id!r} holds commit {commit} ({err})"
    shown = ", ".join(sorted(heads)) or "none"
    return (
        f"commit {commit} is not on any branch of {source.repo_id!r} (branches: {shown}); it may come from a pull "
        "request or another ref the publisher never merged"
    )
