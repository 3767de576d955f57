"""The hub's web pages, on the Hugging Face Hub's URL scheme (so links people paste keep working).

==================================================  ===========================================================
``/``                                               home: search, recently updated and most downloaded models
``/models`` ``/datasets`` ``/spaces``               search (``search``, ``author``, ``sort``) with pagination
``/<namespace>``                                    a user's or organisation's repositories
``/<ns>/<repo>``                                    model card, tags, weights, last commit, "Use this model"
``/<ns>/<repo>/tree/<rev>[/<path>]``                files and folders: size, LFS, last commit, scan verdict
``/<ns>/<repo>/blob/<rev>/<path>``                  one file: highlighted text, JSON, metadata of binaries
``/<ns>/<repo>/commits/<rev>[/<path>]``             history with a copy button per commit
``/<ns>/<repo>/commit/<sha>``                       one commit's changed files and diffs
``/<ns>/<repo>/refs``                               branches, tags and pull-request refs
``/<ns>/<repo>/metrics[/<rev>]``                    training metrics: charts of the Trainer's or TensorBoard's log
``/<ns>/<repo>/settings``                           visibility (owners: a write token of the namespace)
``/login`` ``/logout`` ``/settings/tokens``         sign in with a token, sign out, create and revoke tokens
==================================================  ===========================================================

Datasets and spaces have the same pages under ``/datasets/`` and ``/spaces/``. Every page reads the same
storage as the API and applies the same visibility rule (a private repository is a 404 to anyone who may
not read it). Routes are registered after the API's, so API paths always win.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard.server import bounded
from modelyard.server.auth import GATE_FREE
from modelyard.server.cards import card_body, card_metadata
from modelyard.server.errors import HubHTTPError
from modelyard.server.lru import LRUCache
from modelyard.server.paths import RESERVED_NAMESPACES, check_path_in_repo
from modelyard.server.service import Hub, hub_of, seg
from modelyard.server.storage import Identity, Repo
from modelyard.server.web import render, security, views
from modelyard.server.web.security import PageError
from modelyard.server.web.templating import asset_response, error_page, page, url_prefix

logger = logging.getLogger(__name__)

LIST_PAGE = 30
SORTS = {"lastModified": "Recently updated", "downloads": "Most downloads", "createdAt": "Recently created",
         "id": "Name"}
TYPE_SEGMENTS = {"model": "models", "dataset": "datasets", "space": "spaces"}
CARDS: LRUCache[tuple[str, ...], str] = LRUCache(256)  # rendered cards and files, by content
MARKDOWN = render.HubMarkdown()


class PageRoute(APIRoute):
    """Answers errors of a page handler with an HTML page (the API's errors are JSON)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Redirect as moved:
                return RedirectResponse(moved.location, status_code=303)
            except PageError as err:
                return await run_in_threadpool(error_page, request, err.status, err.title, err.message)
            except HubHTTPError as err:
                return await run_in_threadpool(hub_error_page, request, err)

        return page_handler


class Redirect(Exception):
    """Send the browser elsewhere (e.g. to the sign-in page) instead of answering."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


router = APIRouter(route_class=PageRoute, include_in_schema=False)


def hub_error_page(request: Request, err: HubHTTPError) -> Response:
    if err.status in (301, 302, 303, 307, 308) and "Location" in err.headers:
        return RedirectResponse(err.headers["Location"], status_code=err.status)
    if err.code == "RepoNotFound":
        anonymous = err.status == 401
        return error_page(request, 404, "Repository not found",
                          "It does not exist, or it is private and you may not see it."
                          + (" Sign in if it is yours." if anonymous else ""))
    titles = {"RevisionNotFound": "Revision not found", "EntryNotFound": "File not found"}
    return error_page(request, err.status, titles.get(err.code or "", "Request refused" if err.status < 500 else
                                                      "Server error"), err.message)


def not_found_page(request: Request) -> Response:
    return error_page(request, 404, "Page not found", f"There is no page at {request.url.path}.")


def wants_page(request: Request) -> bool:
    """A browser asking for a page (not an API or LFS client): GET, Accept text/html, not under /api or /_lfs."""
    return (request.method in ("GET", "HEAD") and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/api/", "/_lfs/")))


def _not_a_namespace(namespace: str) -> None:
    """Paths under the hub's own top-level names (``/api/...``) that no API route took are the API's 404."""
    if seg(namespace).lower() in RESERVED_NAMESPACES:
        raise StarletteHTTPException(404)


def _page_number(request: Request) -> int:
    return hub_of(request).int_param(request.query_params.get("p"), "p")


def _pages(request: Request, number: int, total: int, size: int) -> dict[str, Any]:
    """Links to the previous and next page, keeping the other query parameters."""
    last = max(0, (total - 1) // size)

    def link(n: int) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "p"] + ([("p", str(n))] if n else [])
        return url_prefix(request) + request.url.path + (f"?{urlencode(params)}" if params else "")

    return {"number": number, "last": last, "total": total,
            "prev": link(number - 1) if number > 0 else None, "next": link(number + 1) if number < last else None}


# -- static files and quick search --------------------------------------------------------------------
@router.get("/static/{name}")
def static_file(name: str, v: str | None = None) -> Response:
    return asset_response(name, v)


@router.get("/api/quicksearch")
def quicksearch(request: Request, q: str = "", limit: int = 8) -> JSONResponse:
    """Suggestions for the search box (repositories and namespaces whose name contains ``q``)."""
    hub = hub_of(request)
    viewer = security.caller(request)
    terms = q.split()[:5]
    limit = max(1, min(limit, 20))
    out: dict[str, Any] = {"q": q}
    for repo_type, key in (("model", "models"), ("dataset", "datasets"), ("space", "spaces")):
        repos, _ = hub.storage.search.page(repo_type, visible_to=_visible_to(viewer), terms=terms, limit=limit)
        out[key] = [{"id": r.repo_id, "private": r.private, "url": _repo_url(request, r)} for r in repos]
    lowered = q.strip().lower()
    names = [row for row in hub.storage.accounts.list_namespaces() if lowered and lowered in row["name"].lower()][:limit]
    out["namespaces"] = [{"name": row["name"], "type": row["kind"], "url": f"{url_prefix(request)}/{row['name']}"}
                         for row in names]
    return JSONResponse(out, headers={"Cache-Control": "no-store"})


def _visible_to(viewer: Identity | None) -> list[str]:
    return [viewer.name, *viewer.orgs] if viewer else []


def _repo_url(request: Request, repo: Repo) -> str:
    return views.repo_base(request, repo)


# -- sign in, sign out, tokens ------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", {"next": security.safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    target = security.safe_next(_field(form, "next"))
    token = (_field(form, "token") or "").strip()
    response = RedirectResponse(url_prefix(request) + target, status_code=303)
    ok = bool(token) and len(token) <= 500 and await run_in_threadpool(security.start_session, request, response, token)
    if not ok:
        return await run_in_threadpool(page, request, "login.html", {
            "next": target, "error": "This token is not valid on this hub. Paste a token created with "
                                     "`modelyard hub token create` or on the Access tokens page."}, status=400)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    response = RedirectResponse(url_prefix(request) + "/", status_code=303)
    await run_in_threadpool(security.end_session, request, response)
    return response


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _login_redirect(request: Request) -> Redirect:
    return Redirect(f"{url_prefix(request)}/login?{urlencode({'next': request.url.path})}")


@router.get("/settings/tokens")
def tokens_page(request: Request) -> Response:
    session = security.current_session(request)
    if session is None:
        raise _login_redirect(request)
    return _tokens(request, session)


def _tokens(request: Request, session: security.Session, *, created: str | None = None, created_name: str = "",
            error: str | None = None, status: int = 200) -> Response:
    tokens = hub_of(request).storage.tokens.owned_by(session.identity.name)
    return page(request, "tokens.html", {"tokens": tokens, "session": session, "created": created,
                                         "created_name": created_name, "error": error}, status=status)


def _require_write_session(request: Request) -> security.Session:
    session = security.current_session(request)
    if session is None:
        raise PageError(401, "Sign in first", "Managing tokens needs a signed-in session.")
    if session.identity.role != "write":
        raise PageError(403, "A write token is needed",
                        f"You signed in with the read token {session.identity.token_name!r}; sign in with a "
                        "write token to create or revoke tokens.")
    return session


@router.post("/settings/tokens")
async def create_token(request: Request) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    session = _require_write_session(request)
    name = " ".join((_field(form, "name") or "").split())
    role = _field(form, "role") or ""
    error = None
    if not 1 <= len(name) <= 100:
        error = "Give the token a name of 1 to 100 characters (what it is for, e.g. 'laptop' or 'CI')."
    elif role not in ("read", "write"):
        error = f"Unknown role {role[:20]!r}: choose read or write."
    if error:
        return await run_in_threadpool(_tokens, request, session, error=error, status=400)
    storage = hub_of(request).storage
    token = await run_in_threadpool(storage.tokens.create, session.identity.name, role, name)
    return await run_in_threadpool(_tokens, request, session, created=token, created_name=name)


@router.post("/settings/tokens/revoke")
async def revoke_token(request: Request) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    session = _require_write_session(request)
    raw = _field(form, "token_id") or ""
    if not raw.isdigit() or not await run_in_threadpool(hub_of(request).storage.tokens.revoke_id, session.identity.name,
                                                        int(raw)):
        raise PageError(404, "Token not found", "It was already revoked, or it is not yours.")
    target = "/" if int(raw) == session.token_id else "/settings/tokens"
    return RedirectResponse(url_prefix(request) + target, status_code=303)


# -- home, search, namespaces -------------------------------------------------------------------------
@router.get("/")
def home(request: Request) -> Response:
    hub = hub_of(request)
    viewer = security.caller(request)
    recent, total = hub.storage.search.page("model", visible_to=_visible_to(viewer), sort="lastModified", limit=10)
    popular, _ = hub.storage.search.page("model", visible_to=_visible_to(viewer), sort="downloads", limit=10)
    return page(request, "home.html", {"recent": _cards(request, recent),
                                       "popular": [c for c in _cards(request, popular) if c["downloads"]],
                                       "total": total})


def _cards(request: Request, repos: list[Repo]) -> list[dict[str, Any]]:
    """What a listing shows per repo: its card's pipeline tag and library, downloads, dates."""
    hub = hub_of(request)
    downloads = hub.storage.downloads.counts([r.id for r in repos])
    out = []
    for repo in repos:
        try:
            card = _card_metadata(hub, repo)
        except Exception:  # one repository's card must never break a page listing others
            logger.exception("listing page: cannot read the card of %s", repo.repo_id)
            card = {}
        out.append({"repo": repo, "url": _repo_url(request, repo), "downloads": downloads.get(repo.id, 0),
                    "pipeline_tag": _text(card.get("pipeline_tag")), "library": _text(card.get("library_name"))})
    return out


def _text(value: Any) -> str | None:
    return value[:100] if isinstance(value, str) else None


def _card_metadata(hub: Hub, repo: Repo) -> dict[str, Any]:
    head = hub.storage.refs.target(repo, "refs/heads/main")
    if not head:
        return {}
    commit = hub.storage.commits.get(repo, head)
    readme = hub.manifest(repo, commit).get("README.md") if commit else None
    if readme is None:
        return {}
    key = ("card-meta", readme.sha256)
    text = CARDS.get_or_compute(key, lambda: json.dumps(card_metadata(hub.small_text(readme)) or {},
                                                         default=str))
    return json.loads(text)


def _listing(request: Request, repo_type: str) -> Response:
    hub = hub_of(request)
    viewer = security.caller(request)
    params = request.query_params
    search = (params.get("search") or "").strip()
    author = (params.get("author") or "").strip() or None
    sort = params.get("sort") or "lastModified"
    if sort not in SORTS:
        raise PageError(400, "Unknown sort order", f"sort={sort[:50]!r}: use one of {', '.join(SORTS)}.")
    number = _page_number(request)
    repos, total = hub.storage.search.page(repo_type, visible_to=_visible_to(viewer), author=author,
                                            terms=search.split()[:10], sort=sort, offset=number * LIST_PAGE,
                                            limit=LIST_PAGE)
    return page(request, "listing.html", {
        "repo_type": repo_type, "segment": TYPE_SEGMENTS[repo_type], "items": _cards(request, repos),
        "search": search, "author": author or "", "sort": sort, "sorts": SORTS,
        "pages": _pages(request, number, total, LIST_PAGE)})


@router.get("/models")
def models(request: Request) -> Response:
    return _listing(request, "model")


@router.get("/datasets")
def datasets(request: Request) -> Response:
    return _listing(request, "dataset")


@router.get("/spaces")
def spaces(request: Request) -> Response:
    return _listing(request, "space")


@router.get("/{namespace}")
def namespace_page(request: Request, namespace: str) -> Response:
    _not_a_namespace(namespace)
    hub = hub_of(request)
    name = hub.storage.accounts.canonical_namespace(seg(namespace))
    if name is None:
        raise PageError(404, "Not found", f"There is no user or organisation {seg(namespace)!r} on this hub.")
    viewer = security.caller(request)
    sections = []
    for repo_type in ("model", "dataset", "space"):
        repos, total = hub.storage.search.page(repo_type, visible_to=_visible_to(viewer), author=name,
                                                sort="lastModified", limit=100)
        if repos:
            sections.append({"segment": TYPE_SEGMENTS[repo_type], "repos": _cards(request, repos), "total": total})
    kind = hub.storage.accounts.namespace_kind(name)
    members = hub.storage.accounts.org_members(name) if kind == "org" else []
    orgs = hub.storage.accounts.user_orgs(name) if kind == "user" else ()
    return page(request, "namespace.html", {"name": name, "kind": kind, "sections": sections, "members": members,
                                            "orgs": orgs})


# -- repository pages ---------------------------------------------------------------------------------
def _open(request: Request, repo_type: str, namespace: str, name: str, revision: str | None = None
          ) -> views.RepoPage:
    _not_a_namespace(namespace)
    return views.open_repo(request, repo_type, namespace, name, revision)


def _repo_context(rp: views.RepoPage, tab: str) -> dict[str, Any]:
    return {"rp": rp, "repo": rp.repo, "tab": tab, "refs": views.refs_of(rp),
            "downloads": rp.hub.storage.downloads.counts([rp.repo.id]).get(rp.repo.id, 0)}


def repo_page(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    rp = _open(request, repo_type, namespace, name)
    hub = rp.hub
    card, text = views.read_card(rp)
    card_html = None
    if text is not None:
        readme = rp.manifest["README.md"]
        blob_base, raw_base = rp.url("blob", "") + "/", rp.url("resolve", "") + "/"
        card_html = CARDS.get_or_compute(("card", readme.sha256, blob_base, raw_base), lambda: MARKDOWN.render(
            card_body(text), blob_base=blob_base, raw_base=raw_base))
    config_entry = rp.manifest.get("config.json")
    config = hub.small_json(config_entry) if config_entry else None
    config = config if isinstance(config, dict) else None
    snippets, remote = views.use_snippets(rp, config)
    code_files = views.auto_map_files(config.get("auto_map")) if config else []
    flagged = views.flagged_files(rp)
    return page(request, "repo.html", {
        **_repo_context(rp, "card"), "card_html": card_html, "tags": views.card_tags(card),
        "has_readme": "README.md" in rp.manifest, "weights": views.weights_summary(rp), "snippets": snippets,
        "endpoint": hub.base_url(request), "remote_code": remote, "code_files": code_files, "flagged": flagged, "files": len(rp.manifest),
        "commits": len(hub.storage.changes.first_parent_chain(rp.repo, rp.commit.oid))})


def tree_page(request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str = "") -> Response:
    rp = _open(request, repo_type, namespace, name, revision)
    folder = seg(path).strip("/") if path else ""
    if folder and not rp.is_folder(folder):
        if folder in rp.manifest:
            return RedirectResponse(rp.url("blob", folder), status_code=302)
        raise PageError(404, "Folder not found", f"There is no folder {folder!r} in {rp.repo_id} at {rp.revision!r}.")
    number = _page_number(request)
    entries, total = views.list_folder(rp, folder, number * views.TREE_PAGE)
    last = rp.hub.storage.changes.last_changes(rp.repo, rp.commit.oid, [folder] if folder else [])
    return page(request, "tree.html", {
        **_repo_context(rp, "files"), "folder": folder, "entries": entries, "crumbs": views.breadcrumbs(folder),
        "pages": _pages(request, number, total, views.TREE_PAGE),
        "folder_commit": last.get(folder) if folder else rp.commit})


def blob_page(request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str) -> Response:
    rp = _open(request, repo_type, namespace, name, revision)
    file_path = seg(path)
    check_path_in_repo(file_path)
    entry = rp.manifest.get(file_path)
    if entry is None:
        if rp.is_folder(file_path):
            return RedirectResponse(rp.url("tree", file_path), status_code=302)
        raise PageError(404, "File not found", f"There is no file {file_path!r} in {rp.repo_id} at {rp.revision!r}.")
    hub = rp.hub
    kind, scan, scan_message = views.file_security(rp, file_path, entry)
    view: dict[str, Any] = {"mode": "binary", **NO_VIEW}
    suffix = file_path.rpartition(".")[2].lower() if "." in file_path.rpartition("/")[2] else ""
    if not rp.can_download and file_path not in GATE_FREE:  # a gated file: its content is not shown
        view = {"mode": "gated", **NO_VIEW}
    elif f".{suffix}" in views.IMAGE_SUFFIXES:
        view = {"mode": "image", **NO_VIEW}
    elif not entry.lfs and entry.size <= render.TEXT_LIMIT:
        with hub.content.open(entry.sha256) as fh:
            raw = fh.read()
        if not render.looks_binary(raw):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                view = _text_view(rp, file_path, entry, text)
    elif not entry.lfs:
        view = {"mode": "too_large", **NO_VIEW}
    if suffix == "safetensors":
        counts = views.safetensors_parameters(hub, entry)
        if counts:
            view["tensors"] = sorted(counts.items(), key=lambda item: -item[1])
    last = hub.storage.changes.last_changes(rp.repo, rp.commit.oid, [file_path]).get(file_path)
    crumbs = views.breadcrumbs(file_path)
    return page(request, "blob.html", {
        **_repo_context(rp, "files"), "path": file_path, "entry": entry, "kind": kind, "scan": scan,
        "scan_message": scan_message, "view": view, "crumbs": crumbs,
        "last_commit": last, "imports": _scan_imports(rp, file_path, entry) if kind == "pickle" else []})


NO_VIEW: dict[str, Any] = {"lines": None, "html": None, "markdown": None, "config": None, "tensors": None}


def _scan_imports(rp: views.RepoPage, path: str, entry: Any) -> list[dict[str, str]]:
    _kind, scan = rp.hub.scan_of(path, entry, views.shards_of(rp))
    imports = (scan or {}).get("imports", [])
    return [i for i in imports if isinstance(i, dict)][:200]


def _text_view(rp: views.RepoPage, path: str, entry: Any, text: str) -> dict[str, Any]:
    key = ("blob", entry.sha256, path)
    view: dict[str, Any] = {**NO_VIEW, "mode": "text", "lines": text.count("\n") + (0 if text.endswith("\n") else 1)}
    if path.lower().endswith(".json"):
        pretty = render.pretty_json(text)
        if pretty is not None:
            view["mode"] = "json"
            view["html"] = CARDS.get_or_compute(key, lambda: render.highlight_json(path, pretty))
            if path.rpartition("/")[2] == "config.json":
                view["config"] = _explain_config(rp, bounded.load_json(text))
            return view
    if path.lower().endswith((".md", ".markdown")) and len(text) <= render.CARD_LIMIT:
        blob_base = rp.url("blob", path.rpartition("/")[0]).rstrip("/") + "/"
        raw_base = rp.url("resolve", path.rpartition("/")[0]).rstrip("/") + "/"
        view["markdown"] = CARDS.get_or_compute(("md", entry.sha256, blob_base), lambda: MARKDOWN.render(
            card_body(text), blob_base=blob_base, raw_base=raw_base))
    view["html"] = CARDS.get_or_compute(key, lambda: render.highlight_file(path, text))
    return view


def _explain_config(rp: views.RepoPage, config: Any) -> dict[str, Any] | None:
    if not isinstance(config, dict):
        return None
    architectures = config.get("architectures")
    return {
        "model_type": config.get("model_type") if isinstance(config.get("model_type"), str) else None,
        "architectures": [a for a in architectures if isinstance(a, str)] if isinstance(architectures, list) else [],
        "auto_map": views.auto_map_files(config.get("auto_map")),
        "present": {f.path for f in views.auto_map_files(config.get("auto_map")) if f.path in rp.manifest},
    }


def commits_page(request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str = ""
                 ) -> Response:
    rp = _open(request, repo_type, namespace, name, revision)
    file_path = seg(path).strip("/") if path else ""
    if file_path and file_path not in rp.manifest and not rp.is_folder(file_path):
        raise PageError(404, "Not found", f"There is no file or folder {file_path!r} in {rp.repo_id} at "
                        f"{rp.revision!r}.")
    number = _page_number(request)
    commits, total = views.history(rp, number * views.COMMITS_PAGE, path=file_path)
    return page(request, "commits.html", {
        **_repo_context(rp, "commits"), "commits": commits, "path": file_path,
        "pages": _pages(request, number, total, views.COMMITS_PAGE)})


def commit_page(request: Request, repo_type: str, namespace: str, name: str, sha: str) -> Response:
    rp = _open(request, repo_type, namespace, name, sha)
    return page(request, "commit.html", {**_repo_context(rp, "commits"), "changes": views.commit_changes(rp)})


def refs_page(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    rp = _open(request, repo_type, namespace, name)
    refs = views.refs_of(rp)
    targets = sorted({t for group in refs.values() for _, t in group})
    commits = rp.hub.storage.commits.by_ids(rp.repo, targets)
    return page(request, "refs.html", {**_repo_context(rp, "refs"), "targets": commits})


def metrics_page(request: Request, repo_type: str, namespace: str, name: str, revision: str | None = None
                 ) -> Response:
    """The "Training metrics" tab: charts (SVG drawn here) of the revision's trainer_state.json or TensorBoard
    run (``?source=``), the run's settings and its final summary. ``/metrics`` takes ``?revision=``."""
    rp = _open(request, repo_type, namespace, name, revision)
    sources = views.training_sources(rp)
    if not sources:
        raise PageError(404, "No training metrics",
                        f"{rp.repo_id} holds no trainer_state.json and no TensorBoard event files "
                        f"(events.out.tfevents.*) at {rp.revision!r}.")
    wanted = request.query_params.get("source") or sources[0].id
    source = next((s for s in sources if s.id == wanted), None)
    if source is None:
        raise PageError(404, "No such training log", f"source={wanted[:100]!r}: {rp.repo_id} at {rp.revision!r} has "
                        + ", ".join(repr(s.id) for s in sources) + ".")
    return page(request, "metrics.html", {**_repo_context(rp, "metrics"), "sources": sources, "source": source,
                                          "metrics": views.training_metrics(rp, source)})


def _owner_page(
    request: Request, repo_type: str, namespace: str, name: str, *, refusal: str = "can change its settings"
) -> views.RepoPage:
    """The repository page for a caller who may write to it; others are sent to sign in or refused with
    "Only the repository's owners <refusal>"."""
    rp = _open(request, repo_type, namespace, name)
    if not rp.can_write:
        if rp.caller is None:
            raise _login_redirect(request)
        raise PageError(403, f"Only the repository's owners {refusal}",
                        f"Sign in with a write token of {rp.repo.namespace!r} (you are {rp.caller.name!r}, "
                        f"token role {rp.caller.role!r}).")
    return rp


def settings_page(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    rp = _owner_page(request, repo_type, namespace, name)
    return page(request, "settings.html", {**_repo_context(rp, "settings"),
                                           "saved": request.query_params.get("saved") == "1"})


async def settings_submit(request: Request, repo_type: str, namespace: str, name: str) -> Response:
    form = await request.form()
    security.check_csrf(request, _field(form, security.CSRF_FIELD))
    rp = await run_in_threadpool(_owner_page, request, repo_type, namespace, name)
    visibility = _field(form, "visibility")
    if visibility not in ("public", "private"):
        raise PageError(400, "Choose a visibility", "visibility must be 'public' or 'private'.")
    await run_in_threadpool(rp.hub.storage.repos.set_private, rp.repo, visibility == "private")
    return RedirectResponse(rp.url() + "/settings?saved=1", status_code=303)


def _register_repo_routes(prefix: str, repo_type: str) -> None:
    """The repository pages of one type: ``prefix`` is "" (models), "/datasets" or "/spaces"."""
    base = prefix + "/{namespace}/{name}"

    for path, handler, methods in (
        (base, repo_page, ["GET"]),
        (base + "/tree/{revision}", tree_page, ["GET"]),
        (base + "/tree/{revision}/{path:path}", tree_page, ["GET"]),
        (base + "/blob/{revision}/{path:path}", blob_page, ["GET"]),
        (base + "/commits/{revision}", commits_page, ["GET"]),
        (base + "/commits/{revision}/{path:path}", commits_page, ["GET"]),
        (base + "/commit/{sha}", commit_page, ["GET"]),
        (base + "/refs", refs_page, ["GET"]),
        (base + "/metrics", metrics_page, ["GET"]),
        (base + "/metrics/{revision}", metrics_page, ["GET"]),
        (base + "/settings", settings_page, ["GET"]),
        (base + "/settings", settings_submit, ["POST"]),
    ):
        router.add_api_route(path, bind_repo_type(handler, repo_type), methods=methods, name=f"{repo_type}:{handler.__name__}")


def bind_repo_type(handler: Callable[..., Any], repo_type: str) -> Callable[..., Any]:
    """The endpoint of a page handler for one repository type: ``handler`` with ``repo_type`` bound (sync or
    async as the handler is); FastAPI reads the path parameters from the rest of its signature."""
    if inspect.iscoroutinefunction(handler):
        async def async_endpoint(request: Request, **kwargs: str) -> Any:
            return await handler(request, repo_type, **kwargs)
        endpoint: Callable[..., Any] = async_endpoint
    else:
        def endpoint(request: Request, **kwargs: str) -> Any:
            return handler(request, repo_type, **kwargs)
    sig = inspect.signature(handler)
    params = [p for name, p in sig.parameters.items() if name != "repo_type"]
    endpoint.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]  # FastAPI reads an endpoint's signature from __signature__
    return endpoint


# Typed prefixes first: /datasets/<ns>/<repo> must not be read as the model <datasets>/<ns>.
for _prefix, _type in (("/datasets", "dataset"), ("/spaces", "space"), ("", "model")):
    _register_repo_routes(_prefix, _type)

