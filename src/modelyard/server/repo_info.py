"""The repo info document (``GET /api/models/{repo_id}``, and each item of the listings) in HF's shape."""

from __future__ import annotations

from typing import Any

from modelyard.server import scanning
from modelyard.server.cards import card_metadata
from modelyard.server.gitobjects import FileEntry, iso_z, pointer_size
from modelyard.server.service import Hub
from modelyard.server.storage import Commit, Repo


def _siblings(hub: Hub, manifest: dict[str, FileEntry], blobs: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    siblings = []
    security = []
    shards = hub.pickle_shards(manifest)
    hub.content_scan_exts(manifest.values())  # one batch instead of a lookup per file
    for path in sorted(manifest):
        entry = manifest[path]
        sec = scanning.sibling_security(path, *reversed(hub.scan_of(path, entry, shards)))
        item: dict[str, Any] = {"rfilename": path}
        if blobs:
            item.update(size=entry.size, blobId=entry.oid)
            if entry.lfs:
                item["lfs"] = {"size": entry.size, "sha256": entry.sha256,
                               "pointerSize": pointer_size(entry.sha256, entry.size)}
        item["security"] = sec
        siblings.append(item)
        security.append((path, sec))
    return siblings, scanning.repo_security_status(security)


def repo_info_payload(hub: Hub, repo: Repo, commit: Commit, *, blobs: bool,
                      files: bool = True) -> dict[str, Any]:
    """Repo info in HF's shape; ``files=False`` leaves out ``siblings`` and the security summary (listings)."""
    manifest = hub.manifest(repo, commit)
    info: dict[str, Any] = {
        "_id": f"{repo.id:024x}", "id": repo.repo_id, "author": repo.namespace, "sha": commit.oid,
        "lastModified": iso_z(commit.date), "createdAt": iso_z(repo.created_at), "private": repo.private,
        "gated": repo.gated or False, "disabled": False,
        "likes": hub.storage.likes.counts([repo.id]).get(repo.id, 0), "trendingScore": 0, "tags": [],
        "downloads": hub.storage.downloads.counts([repo.id]).get(repo.id, 0),
        "usedStorage": sum(e.size for e in manifest.values()),
    }
    if files:
        info["siblings"], info["securityRepoStatus"] = _siblings(hub, manifest, blobs)
    if repo.type == "model":
        info["modelId"] = repo.repo_id
        config = manifest.get("config.json")
        data = hub.small_json(config) if config else None
        if isinstance(data, dict):
            info["config"] = {k: data[k] for k in ("architectures", "model_type", "auto_map") if k in data}
    readme = manifest.get("README.md")
    card = card_metadata(hub.small_text(readme)) if readme else None
    if card:
        info["cardData"] = card
        tags = card.get("tags")
        info["tags"] = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        for key in ("library_name", "pipeline_tag"):
            if isinstance(card.get(key), str):
                info[key] = card[key]
    if repo.type == "space":
        info["sdk"] = (card or {}).get("sdk")
    return info
