"""Repository listings: ``GET /api/models``, ``/api/datasets`` and ``/api/spaces`` (``HfApi.list_models`` ...).

What each query parameter does here:

* ``author``: the namespace (user or organisation), case-insensitive;
* ``search`` (repeatable): every value must occur in the repo id, case-insensitive;
* ``filter`` (repeatable): every value must match. ``key:value`` matches the model card's ``key`` entry
  (a value or a list; ``dataset:X`` reads the card's ``datasets``), anything else matches the card's
  tags, ``library_name``, ``pipeline_tag``, languages or the config's ``model_type``;
  ``pipeline_tag``, and for spaces ``datasets`` / ``models``, filter on those card entries;
* ``sort``: ``createdAt``, ``lastModified``, ``id``, ``downloads`` (requests for the repo's ``config.json``
  over the last 30 days, as on the Hugging Face Hub) or ``likes``; ``trendingScore`` is not tracked by
  this hub (always 0), so it keeps the tie-breaking order (repo id). ``direction=1``
  sorts ascending, anything else (or nothing) descending, as on the Hugging Face Hub;
* ``limit``: page size (at most ``HubSettings.list_page_size``); further pages follow the absolute
  ``Link: <...>; rel="next"`` header, which is how the client pages;
* ``full=true``: the whole repo info (``sha``, ``siblings``, ``cardData``...); ``expand=prop`` (repeatable):
  only those properties (plus ``id``); ``cardData=true`` / ``config=true`` add those. Properties this hub
  does not track (e.g. ``gguf``, ``inference``) are left out.

Private repositories are listed only for callers who may read them (owner and organisation members).
No repo is served by an inference provider or app here, so ``inference``, ``inference_provider`` and
``apps`` filters match nothing. ``gated=true`` lists the gated repositories only (``auto`` or ``manual``),
``gated=false`` the others.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from modelyard.server.errors import bad_request
from modelyard.server.gitobjects import iso_z
from modelyard.server.repo_info import repo_info_payload
from modelyard.server.responses import answers
from modelyard.server.service import Hub, hub_of
from modelyard.server.storage import BRANCH, Identity, Repo
from modelyard.server.storage.search import SORT_KEYS

router = APIRouter()
logger = logging.getLogger(__name__)

SORTS = (*SORT_KEYS, "trendingScore")
# What a listing item holds without `full` or `expand` (HF's short form).
SHORT_FIELDS = {
    "model": ("_id", "id", "author", "private", "gated", "disabled", "downloads", "likes", "trendingScore", "tags",
              "pipeline_tag", "library_name", "createdAt", "lastModified", "modelId"),
    "dataset": ("_id", "id", "author", "private", "gated", "disabled", "downloads", "likes", "trendingScore",
                "tags", "createdAt", "lastModified"),
    "space": ("_id", "id", "author", "private", "likes", "trendingScore", "sdk", "tags", "createdAt",
              "lastModified"),
}
NOTHING_SERVED = ("inference", "inference_provider", "apps")


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _matches(filter_value: str, info: dict[str, Any]) -> bool:
    card = info.get("cardData") or {}
    config = info.get("config") or {}
    key, sep, wanted = filter_value.partition(":")
    if sep and key and wanted:
        entry = card.get("datasets" if key == "dataset" else key)
        return wanted.lower() in (v.lower() for v in _as_list(entry))
    plain = {*(info.get("tags") or []), *_as_list(card.get("language"))}
    plain.update(str(v) for v in (info.get("library_name"), info.get("pipeline_tag"), config.get("model_type")) if v)
    return filter_value.lower() in (v.lower() for v in plain)


def _card_filters(request: Request, repo_type: str) -> list[tuple[str, list[str]]]:
    """(kind, values) pairs that need each repo's card: filter, pipeline_tag, datasets, models."""
    q = request.query_params
    out = [("filter", q.getlist("filter"))]
    if q.get("pipeline_tag"):
        out.append(("pipeline_tag", [q["pipeline_tag"]]))
    if repo_type == "space":
        out += [("dataset", q.getlist("datasets")), ("model", q.getlist("models"))]
    return [(kind, values) for kind, values in out if values]


def _passes(info: dict[str, Any], filters: list[tuple[str, list[str]]]) -> bool:
    for kind, values in filters:
        for value in values:
            if kind == "filter" and not _matches(value, info):
                return False
            if kind == "pipeline_tag" and info.get("pipeline_tag") != value:
                return False
            if kind in ("dataset", "model") and not _matches(f"{kind}s:{value}", info):
                return False
    return True


def _candidates(hub: Hub, caller: Identity | None, repo_type: str, *, author: str | None, search: list[str],
                sort: str, descending: bool) -> list[Repo]:
    """Repos of ``repo_type`` the caller may see, in listing order (``trendingScore``, not tracked here, keeps
    the repo-id order)."""
    visible = [caller.name, *caller.orgs] if caller else []
    return hub.storage.search.matching(repo_type, visible_to=visible, author=author, terms=search,
                                      sort=sort if sort in SORT_KEYS else None, descending=descending)


def _item(hub: Hub, request: Request, repo: Repo, *, full: bool, expand: list[str], extra: set[str],
          short: tuple[str, ...]) -> dict[str, Any]:
    head = hub.storage.refs.target(repo, BRANCH + "main")
    commit = hub.commit(repo, head) if head else None
    if commit is None:  # a repo always has main; this is a repo being deleted under us
        return {"_id": f"{repo.id:024x}", "id": repo.repo_id}
    wants_files = full or "siblings" in expand
    try:
        info = repo_info_payload(hub, repo, commit, blobs=False, files=wants_files)
    except Exception:  # one repository's content must never break a listing of everyone's
        logger.exception("listing: cannot build the info of %s; listing it with its id only", repo.repo_id)
        return {"_id": f"{repo.id:024x}", "id": repo.repo_id}
    info["lastModified"] = iso_z(repo.last_modified)
    if full:
        return info
    keys = ("_id", "id", *expand) if expand else (*short, *extra)
    return {k: info[k] for k in keys if k in info}


def list_repos(request: Request, repo_type: str, *, search: list[str], author: str | None, sort: str | None,
               direction: str | None, limit: int | None, full: str | None, expand: list[str],
               card_data: str | None, config: str | None, gated: str | None, cursor: str | None) -> JSONResponse:
    hub = hub_of(request)
    caller = hub.caller(request)
    q = request.query_params
    sort = sort or "trendingScore"
    if sort not in SORTS:
        raise bad_request(f"Invalid sort {sort!r}: use one of {', '.join(SORTS)}.")
    if direction not in (None, "", "-1", "1"):
        raise bad_request(f"Invalid direction {direction!r}: use -1 (descending, the default) or 1 (ascending).")
    if expand and (_flag(full) or _flag(card_data) or _flag(config)):
        raise bad_request("expand cannot be combined with full, cardData or config; ask for the properties "
                          "you need with expand alone.")
    page_size = min(limit or hub.settings.list_page_size, hub.settings.list_page_size)
    offset = hub.int_param(cursor, "cursor")
    empty = any(q.get(name) for name in NOTHING_SERVED)
    filters = _card_filters(request, repo_type)
    extra = {name for name, wanted in (("cardData", card_data), ("config", config)) if _flag(wanted)}
    if filters:
        extra.add("cardData")  # the filters read the card; keep what they matched visible

    items: list[dict[str, Any]] = []
    more = False
    if not empty:
        repos = _candidates(hub, caller, repo_type, author=author, search=search, sort=sort,
                            descending=direction != "1")
        if gated:
            repos = [r for r in repos if (r.gated is not None) == _flag(gated)]
        seen = 0
        for repo in repos:
            if filters:
                probe = _item(hub, request, repo, full=False, expand=[], extra={"cardData", "config"},
                              short=SHORT_FIELDS[repo_type])
                if not _passes(probe, filters):
                    continue
            seen += 1
            if seen <= offset:
                continue
            if len(items) == page_size:
                more = True
                break
            items.append(_item(hub, request, repo, full=_flag(full), expand=expand, extra=extra,
                               short=SHORT_FIELDS[repo_type]))
    headers = {}
    if more:
        params = [(k, v) for k, v in q.multi_items() if k != "cursor"] + [("cursor", str(offset + page_size))]
        headers["Link"] = f'<{hub.base_url(request)}{request.url.path}?{urlencode(params)}>; rel="next"'
    return JSONResponse(items, headers=headers)


def _route(type_segment: str, repo_type: str) -> None:
    def listing(
        request: Request,
        search: list[str] = Query(default=[], description="substring of the repo id (all must match)"),
        author: str | None = Query(default=None, description="namespace (user or organisation)"),
        filter: list[str] = Query(default=[], description="tag, or card entry as key:value (all must match)"),
        sort: str | None = Query(default=None, description="createdAt, lastModified, id, downloads, likes, "
                                                           "trendingScore", json_schema_extra={"enum": list(SORTS)}),
        direction: str | None = Query(default=None, description="-1 descending (default), 1 ascending",
                                      json_schema_extra={"enum": ["-1", "1"]}),
        limit: int | None = Query(default=None, ge=1, description="page size"),
        full: str | None = Query(default=None, description="true: whole repo info per item"),
        expand: list[str] = Query(default=[], description="properties to return (with id)"),
        cardData: str | None = Query(default=None),
        config: str | None = Query(default=None),
        pipeline_tag: str | None = Query(default=None),
        gated: str | None = Query(default=None),
        cursor: str | None = Query(default=None, description="opaque position of the page (from Link headers)",
                                   json_schema_extra={"pattern": "^([0-9]{1,15})?$"}),
    ) -> JSONResponse:
        return list_repos(request, repo_type, search=search, author=author, sort=sort, direction=direction,
                          limit=limit, full=full, expand=expand, card_data=cardData, config=config, gated=gated,
                          cursor=cursor)

    router.add_api_route(f"/api/{type_segment}", listing, methods=["GET"], tags=["repos"],
                         operation_id=f"list_{type_segment}", summary=f"List {type_segment}",
                         responses=answers(400, 401))


for _segment, _type in (("models", "model"), ("datasets", "dataset"), ("spaces", "space")):
    _route(_segment, _type)
