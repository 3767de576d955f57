"""The hub's pages in a real browser: Debian's chromium, driven by Playwright's Python package.

The guide's flow end to end: sign in with a token, open a model that ``push_to_hub`` uploaded, read its card,
open the commit history, copy a commit's hash with its button (read back from the clipboard), and load the
model in Python pinned to that hash with ``trust_remote_code=True``. Also: a private repository is out of
reach once signed out, and attack payloads in a repository never run. Screenshots of the main pages go to
``test-artifacts/web/`` (ignored by git; ``MODELYARD_TEST_ARTIFACTS`` moves them).

One browser for the whole module. Skipped, with the reason, only where Chromium or Playwright is missing
(``make test`` installs both where apt works; Playwright's own browser download is never used).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from _html_audit import build_xss_repo, xss_pages
from _hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MODELYARD_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("MODELYARD_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "web"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return (f"Chromium is not installed at {CHROMIUM}: install Debian's package (apt-get install -y chromium; "
                "`make test` does it where apt is usable) or point MODELYARD_CHROMIUM at a Chromium binary")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[test]')"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))

CONFIG_CODE = '''
from modelyard import PretrainedConfig


class PinConfig(PretrainedConfig):
    model_type = "pin-net"

    def __init__(self, width: int = 4, **kwargs):
        self.width = width
        super().__init__(**kwargs)
'''
MODEL_CODE = '''
import torch
from modelyard import PreTrainedModel

from .configuration_pin import PinConfig


class PinModel(PreTrainedModel):
    config_class = PinConfig

    def __init__(self, config):
        super().__init__(config)
        self.proj = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
        return {"logits": self.proj(x)}
'''
CARD = """---
license: mit
library_name: modelyard
---
# Pin net

A tiny network with its own code, to load **pinned to a commit**.
"""


FIRE_EVENTS = """() => {
  for (const element of document.querySelectorAll("main *")) {
    for (const type of ["mouseover", "mouseenter", "focus", "focusin", "toggle", "animationstart", "pointerdown"]) {
      element.dispatchEvent(new Event(type, {bubbles: false}));
    }
  }
}"""


@pytest.fixture(scope="module")
def chromium(hub_server: HubServer) -> Iterator[Any]:
    """One Chromium (fresh profile) for the module, with the clipboard permissions for the hub's origin."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="modelyard-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub_server.url)
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


class Watch:
    """What a page did that it must not: dialogs (alert), CSP violations, uncaught script errors."""

    def __init__(self, page: Any) -> None:
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda err: self.errors.append(str(err)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    page = chromium.new_page()
    page.watch = Watch(page)
    yield page
    page.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def pushed(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A private model with custom code pushed twice with ``push_to_hub`` (two commits, different weights)."""
    import sys

    code = tmp_path_factory.mktemp("code")
    package = code / "pin_net"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "configuration_pin.py").write_text(CONFIG_CODE)
    (package / "modeling_pin.py").write_text(MODEL_CODE)
    sys.path.insert(0, str(code))
    try:
        from pin_net.configuration_pin import PinConfig
        from pin_net.modeling_pin import PinModel

        PinConfig.register_for_auto_class()
        PinModel.register_for_auto_class("AutoModel")
        repo = hub_server.repo_id("pin-net")
        with hub_server.env():
            torch.manual_seed(0)
            first_model = PinModel(PinConfig(width=4))
            first = first_model.push_to_hub(repo, private=True, commit_message="first weights").oid
            second_model = PinModel(PinConfig(width=4))
            with torch.no_grad():
                second_model.proj.weight.add_(1.0)
            second = second_model.push_to_hub(repo, commit_message="retrained weights").oid
            hub_server.api().upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo,
                                         commit_message="Add the model card")
    finally:
        sys.path.remove(str(code))
        for name in [m for m in sys.modules if m == "pin_net" or m.startswith("pin_net.")]:
            del sys.modules[name]
    head = hub_server.api().model_info(repo).sha
    return {"repo": repo, "first": first, "second": second, "head": head,
            "first_weight": first_model.proj.weight.detach().clone(),
            "second_weight": second_model.proj.weight.detach().clone()}


def sign_in(page: Any, hub_server: HubServer, token: str) -> None:
    page.goto(f"{hub_server.url}/login")
    shot(page, "sign-in")
    page.fill("#token", token)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{hub_server.url}/")
    assert page.locator("header nav .me").inner_text() == hub_server.user


def test_copy_a_commit_hash_and_load_the_model_at_it(page: Any, hub_server: HubServer, pushed: dict) -> None:
    repo = pushed["repo"]
    sign_in(page, hub_server, hub_server.token)
    shot(page, "home")
    page.click(f"a.repo-id:text-is('{repo}')")  # the private model is listed for its owner
    page.wait_for_url(f"{hub_server.url}/{repo}")
    assert page.locator(".markdown h1").inner_text() == "Pin net"
    assert "pinned to a commit" in page.locator(".markdown").inner_text()
    use = page.locator("section.use").inner_text()
    assert f'revision="{pushed["head"]}"' in use and "trust_remote_code=True" in use
    assert "This repository ships its own code." in use
    shot(page, "model")

    page.click("nav.tabs a:text-is('Commits')")
    page.wait_for_url(f"{hub_server.url}/{repo}/commits/main")
    rows = page.locator("li.commit-row")
    assert rows.count() == 4  # initial commit, two pushes, the card
    row = rows.filter(has_text="first weights")
    button = row.locator("button.copy")
    button.click()
    page.wait_for_function("b => b.textContent === 'Copied!'", arg=button.element_handle())
    assert page.locator(".toast").is_visible() and "Copied to the clipboard" in page.locator(".toast").inner_text()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(r"[0-9a-f]{40}", copied) and copied == pushed["first"]
    shot(page, "commits")
    page.wait_for_function("b => b.textContent === 'Copy hash'", arg=button.element_handle(), timeout=5000)

    # The guide's last step, in Python: the copied hash as revision=, code trusted explicitly.
    from modelyard import AutoModel

    with hub_server.env():
        model = AutoModel.from_pretrained(repo, revision=copied, trust_remote_code=True)
    assert type(model).__name__ == "PinModel"
    assert torch.equal(model.proj.weight, pushed["first_weight"])  # the first push, not the newer weights
    assert not torch.equal(model.proj.weight, pushed["second_weight"])

    page.goto(f"{hub_server.url}/{repo}/tree/main")
    shot(page, "tree")
    page.click("td.name a:text-is('config.json')")
    assert "config.json explained" in page.locator("main").inner_text()
    shot(page, "blob-config")
    page.goto(f"{hub_server.url}/{repo}/commit/{pushed['second']}")
    shot(page, "commit")
    assert page.watch.dialogs == [] and page.watch.violations == [] and page.watch.errors == []


def test_private_repo_is_unreachable_signed_out(page: Any, hub_server: HubServer, pushed: dict) -> None:
    repo = pushed["repo"]
    sign_in(page, hub_server, hub_server.token)
    page.click("header form[action='/logout'] button")
    page.wait_for_url(f"{hub_server.url}/")
    assert page.locator("header nav").inner_text().strip().endswith("Sign in")
    for path in (f"/{repo}", f"/{repo}/commits/main", f"/{repo}/tree/main", f"/{repo}/blob/main/config.json"):
        answer = page.goto(f"{hub_server.url}{path}")
        assert answer.status == 404, path
        assert "Repository not found" in page.locator("main h1").inner_text()
    shot(page, "private-signed-out")
    page.goto(f"{hub_server.url}/models")
    assert repo not in page.locator("main").inner_text()


def test_payloads_in_a_repository_never_run(page: Any, hub_server: HubServer) -> None:
    repo = build_xss_repo(hub_server.api(), hub_server.repo_id("browser-xss"))
    for path in xss_pages(repo):
        page.goto(f"{hub_server.url}{path}")
        page.wait_for_load_state("load")
        # Fire the events a visitor's pointer and keyboard would, on every element: a handler let through
        # (onmouseover, onfocus, ontoggle...) would run now.
        page.evaluate(FIRE_EVENTS)
        assert page.watch.dialogs == [], (path, page.watch.dialogs)
    page.goto(f"{hub_server.url}/{repo}")
    shot(page, "model-with-payloads")
    assert page.watch.dialogs == []
    # The sanitiser removed everything before the Content-Security-Policy had to block anything.
    assert page.watch.violations == [], page.watch.violations
    assert page.watch.errors == []


def test_search_suggestions_lead_to_the_model(page: Any, hub_server: HubServer) -> None:
    repo = hub_server.repo_id("findable-model")
    hub_server.api().create_repo(repo)
    page.goto(f"{hub_server.url}/")
    box = page.locator("header input[type=search]")
    box.fill("findable-mod")
    suggestion = page.locator(f"header .suggestions a:has-text('{repo}')")
    suggestion.wait_for()
    shot(page, "search")
    suggestion.click()
    page.wait_for_url(f"{hub_server.url}/{repo}")
    assert page.watch.errors == []


def test_training_metrics_tab_draws_its_charts_under_the_csp(page: Any, hub_server: HubServer, tmp_path: Path
                                                             ) -> None:
    """A model trained with modelyard's Trainer: its page's "Training metrics" tab shows the SVG charts (drawn by
    the server: no chart script runs), with nothing blocked by the Content-Security-Policy."""
    pytest.importorskip("tensorboardX")
    from test_web_metrics import CARD, train

    output = tmp_path / "out"
    state = train(output)
    (output / "README.md").write_text(CARD)
    repo = hub_server.repo_id("browser-metrics")
    hub_server.api().create_repo(repo)
    hub_server.api().upload_folder(folder_path=str(output), repo_id=repo)
    page.goto(f"{hub_server.url}/{repo}")
    page.click("nav.tabs a:text-is('Training metrics')")
    page.wait_for_url(f"{hub_server.url}/{repo}/metrics/main")
    charts = page.locator("svg.chart")
    assert charts.count() == 7
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and 100 < box["height"] < box["width"]
    loss = page.locator("figure.chart-box", has=page.locator("figcaption:text-is('Loss')")).locator("svg.chart")
    assert loss.locator("g.series").count() == 2 and loss.locator("g.series path").first.is_visible()
    # The line spans the plot: its drawn box is as wide as most of the chart (it was scaled, not collapsed).
    line = loss.locator("g.series path").first.bounding_box()
    assert line is not None and line["width"] > 0.6 * loss.bounding_box()["width"]
    legend = loss.locator("g.legend text").all_text_contents()
    last_loss = next(r["loss"] for r in reversed(state.log_history) if "loss" in r)
    assert legend[0] == f"loss ({last_loss:.4g})" and legend[1].startswith("eval_loss (")
    assert "train_batch_size" in page.locator(".run-tables").inner_text()
    screenshot = tmp_path / "training-metrics.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    shot(page, "training-metrics")
    assert page.watch.violations == [], page.watch.violations
    assert page.watch.errors == [] and page.watch.dialogs == []
