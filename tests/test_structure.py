"""The package's structure: no import circles, and each layer imports only the layers below it.

The graph is read from the source with ``ast`` (every import statement, at module level or inside functions,
except ``if TYPE_CHECKING:`` blocks, which never run). Layers, bottom to top:

- the core: everything not listed below (configuration, modeling, weights, tokenization, feature extraction,
  processing, hub client, custom-code machinery, the family registry, layers, outputs, errors, logging);
- ``modelyard.models.*``: the families, built on the core;
- ``modelyard.auto``, ``modelyard.compat``, ``modelyard.training``, ``modelyard.pipelines``, ``modelyard.cli`` and the loading of
  custom code (``modelyard.dynamic_modules``; saving it is the core package ``modelyard.dynamic``): built on both;
- ``modelyard.server``: the hub, which shares only torch-free core modules.

Families are found by the registry at run time (from their manifests), never imported by name from the core.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
UPPER = (
    "modelyard.auto",
    "modelyard.compat",
    "modelyard.training",
    "modelyard.pipelines",
    "modelyard.cli",
    "modelyard.server",
    # loading custom code (consent, fetching, the module cache, the transformers namespace); saving it is the
    # core package modelyard.dynamic
    "modelyard.dynamic_modules",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in (SRC / "modelyard").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        for name in _imports(ast.parse(path.read_text(encoding="utf-8")), module, path.name == "__init__.py"):
            parts = name.split(".")
            while parts and ".".join(parts) not in files:
                parts.pop()
            target = ".".join(parts)
            # a module importing its own package (``from modelyard import __version__``) is not an edge
            if target and target != module and not module.startswith(target + "."):
                targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _layer(module: str) -> str:
    if module in UPPER or module.startswith(tuple(f"{package}." for package in UPPER)):
        return "upper"
    if module.startswith("modelyard.models"):
        return "models"
    return "core"


def test_there_is_no_import_circle() -> None:
    assert _cycles(import_graph()) == []


def test_layers_are_whole_packages() -> None:
    """A layer is a list of packages, never a module picked out of a package of another layer."""
    packages = {_module_name(p.parent / "__init__.py") for p in (SRC / "modelyard").rglob("__init__.py")}
    assert all(name in packages for name in UPPER), [name for name in UPPER if name not in packages]
    assert _layer("modelyard.dynamic_modules.cache") == "upper" and _layer("modelyard.dynamic.saving") == "core"
    assert _layer("modelyard.dynamic_modules_extra") == "core"  # a prefix is not a package


def test_the_circle_finder_finds_circles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_layer_imports_only_layers_below() -> None:
    wrong = []
    for module, targets in import_graph().items():
        if module == "modelyard":
            continue  # the package's lazy export table names everything, imports nothing
        for target in targets:
            if _layer(module) == "core" and _layer(target) != "core":
                wrong.append(f"{module} -> {target}")
            if _layer(module) == "models" and _layer(target) == "upper":
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_server_shares_only_torch_free_core_modules() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("modelyard.server"):
            outside = {t for t in targets if t.startswith("modelyard.") and not t.startswith("modelyard.server")}
            assert outside <= {"modelyard.errors", "modelyard.hub.settings", "modelyard.logging",
                               "modelyard.atomic_write", "modelyard.hub"}, (module, outside)


def test_the_generated_family_typing_module_is_current() -> None:
    """Type checkers read the families' names from a generated module; it must match the manifests."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_family_typing", SRC.parent / "tools" / "gen_family_typing.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.TARGET.read_text(encoding="utf-8") == tool.render(), (
        "src/modelyard/models/_typing.py is stale: run `.venv/bin/python tools/gen_family_typing.py`"
    )


# -- the hub server: routers on services, storage at the bottom ------------------------------------------------
def _is_router(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return module.startswith("modelyard.server") and (last == "routes" or last.startswith("routes_"))


def test_server_routers_do_not_import_each_other() -> None:
    graph = import_graph()
    routers = [m for m in graph if _is_router(m)]
    assert len(routers) >= 7, routers  # the finder sees them all (API, listings, files, upload, LFS, Xet, web)
    wrong = [f"{m} -> {t}" for m in routers for t in graph[m] if _is_router(t)]
    assert wrong == [], "a router takes what it shares from auth/service/responses/..., never from another router"


def test_server_storage_is_the_bottom_layer() -> None:
    """The stores know the database and the git object formats (and the shared LRU cache), nothing of HTTP, routes or
    the hub service."""
    allowed = {"modelyard.server.gitobjects", "modelyard.server.lru"}
    for module, targets in import_graph().items():
        if module.startswith("modelyard.server.storage"):
            outside = {t for t in targets if t.startswith("modelyard.")
                       and not t.startswith("modelyard.server.storage") and t not in allowed}
            assert outside == set(), (module, outside)


def test_the_server_lru_cache_is_a_leaf() -> None:
    """Every layer of the server (its storage included) uses ``server.lru``: it imports nothing of modelyard."""
    assert {t for t in import_graph()["modelyard.server.lru"] if t.startswith("modelyard")} == set()


def test_server_storage_is_split_by_concern() -> None:
    stores = {p.stem for p in (SRC / "modelyard" / "server" / "storage").glob("*.py")}
    assert {"accounts", "tokens", "repos", "commits", "refs", "trees", "blobs", "discussions"} <= stores
    for path in (SRC / "modelyard" / "server" / "storage").glob("*.py"):
        methods = [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.FunctionDef)]
        assert len(methods) <= 12, f"{path.name} has {len(methods)} functions: split it by concern"


def test_hub_of_is_defined_once() -> None:
    definitions = []
    for path in (SRC / "modelyard" / "server").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "hub_of":
                definitions.append(_module_name(path))
    assert definitions == ["modelyard.server.service"]


def test_only_the_stores_and_garbage_collectors_touch_sql() -> None:
    """Routes and pages go through the stores' methods, never through a raw connection."""
    owners = ("modelyard.server.storage", "modelyard.server.xet.store", "modelyard.server.xet.gc", "modelyard.server.gc")
    found = []
    for path in (SRC / "modelyard" / "server").rglob("*.py"):
        module = _module_name(path)
        if module.startswith(owners):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("conn", "transaction", "execute", "executemany"):
                found.append(f"{module}: .{node.attr}")
    assert found == []


# -- the hub client: one gateway ---------------------------------------------------------------------------------
GATEWAY = "modelyard.hub.gateway"
# What other modules may take from huggingface_hub: its error classes and constants, offline helpers (repo id
# validation, the shard planner, model card text), nothing that talks to a hub.
CLIENT_NAMES_ALLOWED = {
    "huggingface_hub": {"ModelCard", "ModelCardData", "split_torch_state_dict_into_shards", "constants", "errors"},
    "huggingface_hub.utils": {"validate_repo_id"},
}


def hub_client_uses(tree: ast.AST) -> list[str]:
    """What a module takes from ``huggingface_hub`` beyond :data:`CLIENT_NAMES_ALLOWED` (client classes such as
    ``HfApi``, download/upload functions, the HTTP session): every import of the package itself, and every
    name imported from it or its submodules that is not allowed. ``huggingface_hub.errors`` is free."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "huggingface_hub"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "huggingface_hub":
            module = node.module or ""
            if module == "huggingface_hub.errors":
                continue
            allowed = CLIENT_NAMES_ALLOWED.get(module, set())
            found += [f"{module}.{alias.name}" for alias in node.names if alias.name not in allowed]
    return found


def test_the_client_finder_finds_clients() -> None:
    sources = {
        "from huggingface_hub import HfApi": ["huggingface_hub.HfApi"],
        "import huggingface_hub as hf\nhf.HfApi()": ["huggingface_hub"],
        "def f():\n    from huggingface_hub import hf_hub_download, ModelCard": ["huggingface_hub.hf_hub_download"],
        "from huggingface_hub.utils import get_session, validate_repo_id": ["huggingface_hub.utils.get_session"],
        "from huggingface_hub.hf_api import HfApi": ["huggingface_hub.hf_api.HfApi"],
        "from huggingface_hub.errors import HfHubHTTPError\nfrom huggingface_hub import constants": [],
    }
    for source, expected in sources.items():
        assert hub_client_uses(ast.parse(source)) == expected, source


def test_only_the_gateway_builds_hub_clients() -> None:
    """Every hub call goes through modelyard.hub.gateway (one endpoint, token and user-agent policy, errors
    translated): no other module under src/, the server included, builds a client or calls one."""
    users = {}
    for path in (SRC / "modelyard").rglob("*.py"):
        module = _module_name(path)
        uses = hub_client_uses(ast.parse(path.read_text(encoding="utf-8")))
        if uses:
            users[module] = uses
    gateway = users.pop(GATEWAY, [])
    assert users == {}, "build hub clients with modelyard.hub.gateway.hub_client(...)"
    assert "huggingface_hub.HfApi" in gateway  # the finder sees the gateway's own client


def test_no_module_imports_the_package_root_for_its_version() -> None:
    """``__version__`` lives in modelyard._version; the package root is the lazy export table, for users."""
    wrong = []
    for path in (SRC / "modelyard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "modelyard" and not node.level:
                wrong += [f"{_module_name(path)}: {a.name}" for a in node.names if a.name == "__version__"]
            elif isinstance(node, ast.Attribute) and node.attr == "__version__" and \
                    isinstance(node.value, ast.Name) and node.value.id == "modelyard":
                wrong.append(f"{_module_name(path)}: modelyard.__version__")
    assert wrong == []
def test_schema_migrations_are_frozen() -> None:
    """A migration says what the schema was at its revision: it imports nothing of the hub that may change later."""
    for module, targets in import_graph().items():
        if module.startswith("modelyard.server.storage.migrations"):
            assert {t for t in targets if t.startswith("modelyard.")} == set(), module


def test_blob_stores_sit_below_the_service() -> None:
    """The blob stores (file and S3) know bytes, hashes and errors, never the database, routes or the service."""
    allowed = {"modelyard.server.blobstore", "modelyard.server.errors"}
    for module in ("modelyard.server.blobstore", "modelyard.server.blobstore_s3"):
        outside = {t for t in import_graph()[module] if t.startswith("modelyard.") and t not in allowed}
        assert outside == set(), (module, outside)


# -- the hub server: one gateway for content -------------------------------------------------------------------
CONTENT = "modelyard.server.content"
# What the content gateway owns: the blob stores, the multipart assembler, the Xet store and the table of which
# repository holds which LFS object. Routes and pages ask ``hub.content``; only the gateway decides whether bytes
# live as a regular blob, an LFS object or a Xet file.
GATEWAY_OWNS = frozenset({"modelyard.server.blobstore", "modelyard.server.blobstore_s3", "modelyard.server.multipart",
                          "modelyard.server.xet.store", "modelyard.server.storage.blobs"})
HUB_PARTS_OWNED = frozenset({"store", "xet", "multipart"})  # the Hub's own handles on what the gateway owns


def _is_page_or_router(module: str) -> bool:
    return _is_router(module) or module.startswith("modelyard.server.web")


def content_reaches(tree: ast.AST) -> list[str]:
    """Where a module reaches past the content gateway: ``hub.store`` / ``hub.xet`` / ``hub.multipart`` (also
    ``rp.hub.store``), and the LFS links (``storage.blobs.link`` / ``.is_linked``), which the gateway keeps."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        on_hub = (isinstance(owner, ast.Name) and owner.id == "hub") or (
            isinstance(owner, ast.Attribute) and owner.attr == "hub")
        if on_hub and node.attr in HUB_PARTS_OWNED:
            found.append(f"hub.{node.attr}")
        if node.attr in ("link", "is_linked") and isinstance(owner, ast.Attribute) and owner.attr == "blobs":
            found.append(f"blobs.{node.attr}")
    return found


def test_the_reach_finder_finds_reaches() -> None:
    sources = {
        "hub.store.path(sha)": ["hub.store"],
        "rp.hub.xet.file_for_sha(sha)": ["hub.xet"],
        "await hub.multipart.put_part(request)": ["hub.multipart"],
        "hub.storage.blobs.link(repo, oid)": ["blobs.link"],
        "if storage.blobs.is_linked(repo, oid): pass": ["blobs.is_linked"],
        "hub.content.holds(repo, oid)\nhub.content.xet.cas.file(text)\nhub.storage.blobs.scan(sha, kind)": [],
    }
    for source, expected in sources.items():
        assert content_reaches(ast.parse(source)) == expected, source


def test_routes_reach_content_only_through_the_gateway() -> None:
    """Routers and pages import none of the parts the gateway owns (nor its inner modules) and touch no handle on
    them: a route that serves, checks or links a file's bytes asks ``hub.content``."""
    graph = import_graph()
    modules = [m for m in graph if _is_page_or_router(m)]
    assert len(modules) >= 10, modules
    wrong = [f"{m} -> {t}" for m in modules for t in graph[m]
             if t in GATEWAY_OWNS or t.startswith(CONTENT + ".")]
    for path in (SRC / "modelyard" / "server").rglob("*.py"):
        module = _module_name(path)
        if module.startswith((CONTENT, "modelyard.server.storage")):
            continue  # the gateway itself, and the store of the links
        reaches = content_reaches(ast.parse(path.read_text(encoding="utf-8")))
        # Outside the pages and routers, the Hub may hand its blob store to maintenance (gc, health, export).
        wrong += [f"{module}: {r}" for r in reaches if _is_page_or_router(module) or r.startswith("blobs.")]
    assert wrong == [], "ask the content gateway (hub.content), which decides where a file's bytes live"


def test_the_content_gateway_stands_on_the_stores_not_on_routes() -> None:
    """The gateway imports the stores under it, never a router, a page or the hub service (which builds it)."""
    for module, targets in import_graph().items():
        if module.startswith(CONTENT):
            wrong = {t for t in targets if _is_page_or_router(t) or t == "modelyard.server.service"}
            assert wrong == set(), (module, wrong)
