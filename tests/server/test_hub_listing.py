"""Repository listings through the stock client: ``list_models`` / ``list_datasets`` / ``list_spaces``."""

from __future__ import annotations

import httpx
import pytest
from _hub_server import HubServer
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError

CARD = b"""---
license: mit
language: [en, fr]
library_name: modelyard
pipeline_tag: text-classification
tags: [vision, needle-tag]
datasets: [lister/corpus]
---
# card
"""


@pytest.fixture(scope="module")
def lister(hub_server: HubServer) -> dict[str, HfApi]:
    """User ``lister`` (org ``listorg``) with public and private repos of each type, and two onlookers."""
    apis = {
        "lister": hub_server.api(token=hub_server.add_user("lister", orgs=["listorg"])),
        "member": hub_server.api(token=hub_server.add_user("listmate", orgs=["listorg"])),
        "stranger": hub_server.api(token=hub_server.add_user("lurker")),
        "anonymous": hub_server.api(token=False),
    }
    api = apis["lister"]
    for name in ("m-alpha", "m-beta", "m-gamma-needle"):
        api.create_repo(f"lister/{name}")
    api.create_repo("lister/m-secret", private=True)
    api.create_repo("listorg/m-team-secret", private=True)
    api.upload_file(path_or_fileobj=CARD, path_in_repo="README.md", repo_id="lister/m-beta")
    api.upload_file(path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id="lister/m-beta")
    api.create_repo("lister/corpus", repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a,b\n", path_in_repo="data.csv", repo_id="lister/corpus", repo_type="dataset")
    api.create_repo("lister/demo", repo_type="space", space_sdk="gradio")
    # Touch the oldest model last, so lastModified and createdAt orders differ.
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="lister/m-alpha")
    return apis


def _ids(items) -> list[str]:
    return [item.id for item in items]


def test_author_and_visibility(lister: dict[str, HfApi]) -> None:
    public = ["lister/m-alpha", "lister/m-beta", "lister/m-gamma-needle"]
    assert sorted(_ids(lister["anonymous"].list_models(author="lister"))) == public
    assert sorted(_ids(lister["stranger"].list_models(author="lister"))) == public
    assert sorted(_ids(lister["lister"].list_models(author="lister"))) == sorted([*public, "lister/m-secret"])
    # An organisation's private repos are listed for its members only.
    assert _ids(lister["member"].list_models(author="listorg")) == ["listorg/m-team-secret"]
    assert _ids(lister["stranger"].list_models(author="listorg")) == []
    assert _ids(lister["member"].list_models(author="LISTER")) == _ids(lister["anonymous"].list_models(author="lister"))
    # Models only: the dataset and the space are listed by their own calls.
    assert _ids(lister["anonymous"].list_datasets(author="lister")) == ["lister/corpus"]
    spaces = list(lister["anonymous"].list_spaces(author="lister"))
    assert _ids(spaces) == ["lister/demo"]


def test_search_filter_and_sort(lister: dict[str, HfApi]) -> None:
    api = lister["lister"]
    assert _ids(api.list_models(search="needle")) == ["lister/m-gamma-needle"]
    assert _ids(api.list_models(search="LISTER/M-", author="lister", sort="created_at")) == [
        "lister/m-secret", "lister/m-gamma-needle", "lister/m-beta", "lister/m-alpha"]
    assert _ids(api.list_models(author="lister", sort="last_modified", limit=2)) == ["lister/m-alpha", "lister/m-beta"]
    for flt in ("needle-tag", "text-classification", "modelyard", "fr", "license:mit", "dataset:lister/corpus", "bert"):
        assert _ids(api.list_models(filter=flt, author="lister")) == ["lister/m-beta"], flt
    assert _ids(api.list_models(filter=["vision", "license:apache-2.0"])) == []
    assert _ids(api.list_models(pipeline_tag="text-classification", author="lister")) == ["lister/m-beta"]
    assert _ids(api.list_models(gated=True, author="lister")) == []
    with pytest.raises(BadRequestError, match="Invalid sort"):
        list(api.list_models(sort="popularity"))  # type: ignore[arg-type]


def test_full_expand_and_card_data(lister: dict[str, HfApi]) -> None:
    api = lister["anonymous"]
    (short,) = api.list_models(search="lister/m-beta")
    assert short.siblings is None and short.tags == ["vision", "needle-tag"]
    assert short.pipeline_tag == "text-classification" and short.library_name == "modelyard"
    (full,) = api.list_models(search="lister/m-beta", full=True)
    assert full.sha == api.model_info("lister/m-beta").sha
    assert sorted(s.rfilename for s in full.siblings) == [".gitattributes", "README.md", "config.json"]
    (expanded,) = api.list_models(search="lister/m-beta", expand=["sha", "private"])
    assert expanded.sha == full.sha and expanded.private is False and expanded.tags is None
    (with_card,) = api.list_models(search="lister/m-beta", cardData=True, fetch_config=True)
    assert with_card.card_data["license"] == "mit" and with_card.config == {"model_type": "bert"}
    (dataset,) = api.list_datasets(author="lister", full=True)
    assert [s.rfilename for s in dataset.siblings] == [".gitattributes", "data.csv"]


def test_pagination_follows_link_headers(hub_server: HubServer, lister: dict[str, HfApi],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _ids(lister["lister"].list_models(author="lister", sort="created_at"))
    monkeypatch.setattr(hub_server.settings, "list_page_size", 2)
    paged = _ids(lister["lister"].list_models(author="lister", sort="created_at"))
    assert paged == everything and len(paged) == 4
    first = httpx.get(f"{hub_server.url}/api/models", params={"author": "lister", "sort": "createdAt"})
    assert len(first.json()) == 2
    next_url = first.links["next"]["url"]
    assert next_url.startswith(hub_server.url) and "author=lister" in next_url
    assert [m["id"] for m in httpx.get(next_url).json()] == ["lister/m-alpha"]
    assert "next" not in httpx.get(next_url).links
    # `limit` caps the page; the client stops after `limit` items without asking for more.
    assert len(list(lister["lister"].list_models(author="lister", limit=1))) == 1
