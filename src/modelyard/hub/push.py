"""``push_to_hub`` for configs, models, tokenizers, feature extractors and processors.

The object is saved with its own ``save_pretrained`` into a temporary folder (custom code included) and
uploaded in one commit through ``huggingface_hub``, to whatever hub ``HF_ENDPOINT`` names: through Xet where
the hub speaks it (huggingface.co, modelyard hubs), else through Git LFS (see ``modelyard.hub.xet``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from modelyard.hub import settings
from modelyard.hub.translate import hub_errors
from modelyard.hub.xet import xet_only_if_supported

logger = logging.getLogger(__name__)


class PushToHubMixin:
    """Adds :meth:`push_to_hub` to any class with a ``save_pretrained(directory)`` method."""

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
        from huggingface_hub import HfApi

        for name in ("repo_url", "organization"):
            if deprecated_kwargs.get(name) is not None:
                raise TypeError(f"push_to_hub no longer takes {name}=; pass the full repo_id ('namespace/name').")
        if deprecated_kwargs.pop("use_auth_token", None) is not None:
            raise TypeError("push_to_hub takes token=, not use_auth_token=.")
        # Other keywords are options of this object's own save_pretrained (portable_code=, legacy_format=, ...).
        save_extra = self._push_save_options(None, None, deprecated_kwargs)
        # Client and transport errors become modelyard's typed errors, with the hub's message and the fix.
        with hub_errors(f"push {type(self).__name__} to {repo_id!r}", repo_id=repo_id):
            api = HfApi(endpoint=settings.endpoint(), library_name="modelyard")
            auth = settings.get_token(token)
            if "/" not in repo_id:
                repo_id = f"{api.whoami(token=auth)['name']}/{repo_id}"
            api.create_repo(repo_id, token=auth, private=private, exist_ok=True)
            if revision is not None and not revision.startswith("refs/pr/"):
                api.create_branch(repo_id, branch=revision, token=auth, exist_ok=True)
            upload = _Upload(api, repo_id, commit_message or f"Upload {type(self).__name__}", commit_description,
                             auth, revision, create_pr)
            with xet_only_if_supported(api.endpoint, repo_id, token=auth, revision=revision, create_pr=create_pr):
                if _folder is not None:
                    folder = Path(_folder)
                    if tags:
                        _tag_model_card(api, repo_id, folder, tags, auth)
                    return upload.folder(folder)
                save_options = {**self._push_save_options(max_shard_size, safe_serialization, {}), **save_extra}
                working_dir = Path(repo_id.split("/")[-1])
                if use_temp_dir is None:
                    use_temp_dir = not working_dir.is_dir()
                if use_temp_dir:
                    with tempfile.TemporaryDirectory(prefix="modelyard-push-") as tmp:
                        self.save_pretrained(tmp, **save_options)  # type: ignore[attr-defined]
                        if tags:
                            _tag_model_card(api, repo_id, Path(tmp), tags, auth)
                        return upload.folder(Path(tmp))
                # The files this save wrote are uploaded, not whatever else the folder holds.
                before = _modification_times(working_dir)
                working_dir.mkdir(parents=True, exist_ok=True)
                written = self.save_pretrained(working_dir, **save_options)  # type: ignore[attr-defined]
                if tags:
                    _tag_model_card(api, repo_id, working_dir, tags, auth)
                files = {_relative(p, working_dir) for p in written or ()} if isinstance(written, (list, tuple)) else set()
                files |= {path for path, mtime in _modification_times(working_dir).items() if before.get(path) != mtime}
                return upload.folder(working_dir, only=sorted(f for f in files if f))

    def _push_save_options(
        self, max_shard_size: int | str | None, safe_serialization: bool | None, extra: dict[str, Any]
    ) -> dict[str, Any]:
        """The save options this object's ``save_pretrained`` takes (models: shard size and format), plus
        ``extra`` keywords, each of which it must take."""
        import inspect

        # The save options are those of the kind's save hook (PretrainedIO._save_into) where it has one.
        saver = getattr(self, "_save_into", None) or self.save_pretrained  # type: ignore[attr-defined]
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


class _Upload:
    """One commit of a folder's files to a repository."""

    def __init__(self, api: Any, repo_id: str, message: str, description: str | None, token: Any,
                 revision: str | None, create_pr: bool) -> None:
        self.api, self.repo_id, self.message, self.description = api, repo_id, message, description
        self.token, self.revision, self.create_pr = token, revision, create_pr

    def folder(self, folder: Path, *, only: list[str] | None = None) -> Any:
        logger.info("Uploading %s to %s", folder, self.repo_id)
        return self.api.upload_folder(
            repo_id=self.repo_id,
            folder_path=folder,
            commit_message=self.message,
            commit_description=self.description,
            token=self.token,
            revision=self.revision,
            create_pr=self.create_pr,
            allow_patterns=only,
        )


def _modification_times(folder: Path) -> dict[str, int]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def _relative(path: str | os.PathLike[str], folder: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return None


def _tag_model_card(api: Any, repo_id: str, folder: Path, tags: list[str], token: Any) -> None:
    """Add ``tags`` to the repository's model card (its README.md front matter), creating a card if needed."""
    from huggingface_hub import ModelCard, ModelCardData
    from huggingface_hub import errors as hf_errors

    local = folder / "README.md"
    try:
        card = ModelCard.load(local if local.is_file() else api.hf_hub_download(repo_id, "README.md", token=token))
    except (hf_errors.EntryNotFoundError, hf_errors.RepositoryNotFoundError, FileNotFoundError):
        data = ModelCardData(library_name="modelyard", tags=[])
        card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n# {repo_id}\n\nModel saved with modelyard.\n")
    existing = list(card.data.tags or [])
    card.data.tags = existing + [t for t in tags if t not in existing]
    card.save(local)
