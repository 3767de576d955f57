"""``push_to_hub`` for configs, models, tokenizers, feature extractors and processors.

The object is saved with its own ``save_pretrained`` into a temporary folder (custom code included) and
uploaded in one commit through ``huggingface_hub``, to whatever hub ``HF_ENDPOINT`` names. Xet uploads are
switched off for hubs other than huggingface.co, which speak plain LFS only.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from modelyard.hub import settings

logger = logging.getLogger(__name__)


class PushToHubMixin:
    """Adds :meth:`push_to_hub` to any class with a ``save_pretrained(directory)`` method."""

    def push_to_hub(
        self,
        repo_id: str,
        *,
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | bool | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        commit_description: str | None = None,
        _folder: str | os.PathLike[str] | None = None,
        **save_kwargs: Any,
    ) -> Any:
        """Save this object and upload the files to ``repo_id`` in one commit; returns the commit info.

        A name without a namespace (``"custom-resnet50d"``) goes to the logged-in user's namespace.
        """
        from huggingface_hub import HfApi

        api = HfApi(endpoint=settings.endpoint(), library_name="modelyard")
        auth = settings.get_token(token)
        if "/" not in repo_id:
            repo_id = f"{api.whoami(token=auth)['name']}/{repo_id}"
        api.create_repo(repo_id, token=auth, private=private, exist_ok=True)
        if revision is not None and not revision.startswith("refs/pr/"):
            api.create_branch(repo_id, branch=revision, token=auth, exist_ok=True)
        message = commit_message or f"Upload {type(self).__name__}"
        with _xet_off_unless_huggingface():
            if _folder is not None:
                return self._upload(api, repo_id, Path(_folder), message, commit_description, auth, revision, create_pr)
            with tempfile.TemporaryDirectory(prefix="modelyard-push-") as tmp:
                self.save_pretrained(tmp, **save_kwargs)  # type: ignore[attr-defined]
                return self._upload(api, repo_id, Path(tmp), message, commit_description, auth, revision, create_pr)

    @staticmethod
    def _upload(
        api: Any,
        repo_id: str,
        folder: Path,
        message: str,
        description: str | None,
        token: str | None,
        revision: str | None,
        create_pr: bool,
    ) -> Any:
        logger.info("Uploading %s to %s", folder, repo_id)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=message,
            commit_description=description,
            token=token,
            revision=revision,
            create_pr=create_pr,
        )


class _xet_off_unless_huggingface:
    """Temporarily disable Xet uploads (read by the client at call time) for non-Hugging-Face hubs."""

    def __enter__(self) -> None:
        from huggingface_hub import constants

        self._previous = constants.HF_HUB_DISABLE_XET
        if not settings.is_huggingface_endpoint():
            constants.HF_HUB_DISABLE_XET = True

    def __exit__(self, *exc: object) -> None:
        from huggingface_hub import constants

        constants.HF_HUB_DISABLE_XET = self._previous
