"""The one push path: ``push_to_hub`` of configs, models, tokenizers, feature extractors and processors, the
Trainer's pushes and ``modelyard upload`` all commit through a :class:`PushTarget`.

A :class:`PushTarget` is a repository being pushed to: its full name (a bare name goes to the token owner's
namespace), created when missing (and the branch too), and commits of a folder or file into it, uploaded
through the gateway's client (:mod:`modelyard.hub.gateway`: errors translated) to whatever hub ``HF_ENDPOINT``
names: through Xet where the hub speaks it (huggingface.co, modelyard hubs), else through Git LFS (see
``modelyard.hub.xet``).

:class:`PushToHubMixin` saves the object with its own ``save_pretrained`` into a temporary folder (custom code
included) and commits it in one go.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import MissingFileError, RepositoryNotFoundError
from modelyard.hub.gateway import HubClient, hub_client
from modelyard.hub.xet import xet_only_if_supported

logger = logging.getLogger(__name__)


class PushTarget:
    """A hub repository being pushed to, with one client for its calls. Build with :meth:`prepare`."""

    def __init__(self, client: HubClient, repo_id: str, *, repo_type: str = "model", revision: str | None = None,
                 create_pr: bool = False) -> None:
        self.client, self.repo_id, self.repo_type = client, repo_id, repo_type
        self.revision, self.create_pr = revision, create_pr

    @classmethod
    def prepare(cls, repo_id: str, *, action: str, token: str | bool | None = None, private: bool | None = None,
                repo_type: str = "model", revision: str | None = None, create_pr: bool = False) -> PushTarget:
        """Name ``repo_id`` fully (asking the hub whose token this is when it has no namespace), create the
        repository if it is missing, and the branch ``revision`` (a pull-request ref is the hub's to make).
        Errors say "Could not <action>: ...". ``token=False`` sends no token at all."""
        client = hub_client(action, repo_id=repo_id, token=token)
        repo_id = client.full_repo_id(repo_id)
        client.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        if revision is not None and not revision.startswith("refs/pr/"):
            client.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
        return cls(client, repo_id, repo_type=repo_type, revision=revision, create_pr=create_pr)

    def commit_folder(self, folder: str | os.PathLike[str], *, message: str, description: str | None = None,
                      path_in_repo: str | None = None, allow_patterns: list[str] | None = None,
                      ignore_patterns: list[str] | None = None, delete_patterns: list[str] | None = None) -> Any:
        """Upload the folder's files (those ``allow_patterns`` keep and ``ignore_patterns`` leave, all by
        default) in one commit, deleting the repository's files ``delete_patterns`` match; the commit info."""
        logger.info("Uploading %s to %s", folder, self.repo_id)
        with self._uploading():
            return self.client.upload_folder(
                repo_id=self.repo_id, folder_path=folder, path_in_repo=path_in_repo, repo_type=self.repo_type,
                commit_message=message, commit_description=description, revision=self.revision,
                create_pr=self.create_pr, allow_patterns=allow_patterns, ignore_patterns=ignore_patterns,
                delete_patterns=delete_patterns,
            )

    def commit_file(self, path: str | os.PathLike[str], path_in_repo: str, *, message: str | None = None,
                    description: str | None = None) -> Any:
        """Upload one file as ``path_in_repo`` in one commit; the commit info."""
        with self._uploading():
            return self.client.upload_file(
                path_or_fileobj=os.fspath(path), path_in_repo=path_in_repo, repo_id=self.repo_id,
                repo_type=self.repo_type, revision=self.revision, commit_message=message,
                commit_description=description, create_pr=self.create_pr,
            )

    def _uploading(self) -> Any:
        # Xet where the hub takes it, else Git LFS (decided per upload: see modelyard.hub.xet).
        return xet_only_if_supported(self.client.endpoint, self.repo_id, token=self.client.token,
                                     repo_type=self.repo_type, revision=self.revision, create_pr=self.create_pr)


class PushToHubMixin:
    """Adds :meth:`push_to_hub` to any class with a ``save_pretrained(directory)`` method."""

    if TYPE_CHECKING:  # given by the class this mixin is part of (PretrainedIO)
        def save_pretrained(self, save_directory: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any: ...

    def push_to_hub(
        self,
        repo_id: str,
        use_temp_dir: bool | None = None,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | bool | None = None,
        max_shard_size: int | str | None = "5GB",
        create_pr: bool = False,
        safe_serialization: bool = True,
        revision: str | None = None,
        commit_description: str | None = None,
        tags: list[str] | None = None,
        *,
        _folder: str | os.PathLike[str] | None = None,
        **deprecated_kwargs: Any,
    ) -> Any:
        """Save this object and upload the files to ``repo_id`` in one commit; returns the commit info.

        The parameters and their order are the reference library's. A name without a namespace
        (``"custom-resnet50d"``) goes to the logged-in user's namespace. ``use_temp_dir=False`` saves into
        ``./<repo name>`` (kept; only the files this save changed are uploaded); by default a temporary folder
        is used unless that folder already exists. ``tags`` are added to the model card (``README.md``),
        which is created when the repository has none. ``token=False`` sends no token at all.
        """
        for name in ("repo_url", "organization"):
            if deprecated_kwargs.get(name) is not None:
                raise TypeError(f"push_to_hub no longer takes {name}=; pass the full repo_id ('namespace/name').")
        if deprecated_kwargs.pop("use_auth_token", None) is not None:
            raise TypeError("push_to_hub takes token=, not use_auth_token=.")
        # Other keywords are options of this object's own save_pretrained (portable_code=, legacy_format=, ...).
        save_extra = self._push_save_options(None, None, deprecated_kwargs)
        target = PushTarget.prepare(repo_id, action=f"push {type(self).__name__} to {repo_id!r}", token=token,
                                    private=private, revision=revision, create_pr=create_pr)
        message = commit_message or f"Upload {type(self).__name__}"

        def commit(folder: Path) -> Any:  # every file of a folder the object was saved into
            if tags:
                _tag_model_card(target, folder, tags)
            return target.commit_folder(folder, message=message, description=commit_description)

        if _folder is not None:
            return commit(Path(_folder))
        save_options = {**self._push_save_options(max_shard_size, safe_serialization, {}), **save_extra}
        working_dir = Path(target.repo_id.split("/")[-1])
        if use_temp_dir is None:
            use_temp_dir = not working_dir.is_dir()
        if use_temp_dir:
            with tempfile.TemporaryDirectory(prefix="modelyard-push-") as tmp:
                self.save_pretrained(tmp, **save_options)
                return commit(Path(tmp))
        # The files this save wrote are uploaded, not whatever else the folder holds.
        before = _modification_times(working_dir)
        working_dir.mkdir(parents=True, exist_ok=True)
        written = self.save_pretrained(working_dir, **save_options)
        if tags:  # the card is one of the changed files
            _tag_model_card(target, working_dir, tags)
        files = {_relative(p, working_dir) for p in written or ()} if isinstance(written, (list, tuple)) else set()
        files |= {path for path, mtime in _modification_times(working_dir).items() if before.get(path) != mtime}
        return target.commit_folder(working_dir, message=message, description=commit_description,
                                    allow_patterns=sorted(f for f in files if f))

    def _push_save_options(
        self, max_shard_size: int | str | None, safe_serialization: bool | None, extra: dict[str, Any]
    ) -> dict[str, Any]:
        """The save options this object's ``save_pretrained`` takes (models: shard size and format), plus
        ``extra`` keywords, each of which it must take."""
        import inspect

        # The save options are those of the kind's save hook (PretrainedIO._save_into) where it has one.
        saver = getattr(self, "_save_into", None) or self.save_pretrained
        params = inspect.signature(saver).parameters
        options: dict[str, Any] = {}
        if "max_shard_size" in params and max_shard_size is not None:
            options["max_shard_size"] = max_shard_size
        if "safe_serialization" in params and safe_serialization is not None:
            options["safe_serialization"] = safe_serialization
        unknown = sorted(k for k in extra if k not in params or k in ("save_directory", "push_to_hub"))
        if unknown:
            raise TypeError(
                f"push_to_hub got keyword arguments that neither it nor {type(self).__name__}.save_pretrained "
                f"takes: {unknown}."
            )
        return {**options, **extra}


def _modification_times(folder: Path) -> dict[str, int]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _relative(path: str | os.PathLike[str], folder: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None


def _tag_model_card(target: PushTarget, folder: Path, tags: list[str]) -> None:
    """Add ``tags`` to the repository's model card (its README.md front matter), creating a card if needed."""
    from huggingface_hub import ModelCard, ModelCardData

    local = folder / "README.md"
    try:
        card = ModelCard.load(local if local.is_file() else target.client.hf_hub_download(
            target.repo_id, "README.md", repo_type=target.repo_type))
    except (MissingFileError, RepositoryNotFoundError, FileNotFoundError):
        data = ModelCardData(library_name="modelyard", tags=[])
        card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {target.repo_id}\n\nModel saved with modelyard.\n")
    existing = list(card.data.tags or [])
    card.data.tags = existing + [t for t in tags if t not in existing]
    card.save(local)


__all__ = ["PushTarget", "PushToHubMixin"]
