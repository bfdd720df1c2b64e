"""Browser-test harness: JupyterLab on loopback, driven in Debian's Chromium through Playwright.

One JupyterLab server and one headless Chromium serve the whole session. The server gets fresh
config, data, runtime, settings and workspace directories, a random token, and settings that turn
off the news feed and the update check, so nothing outside the test reaches it or is reached.
Each test gets its own page (a screenshot is saved when it fails) and opens its notebook in its own
workspace, because JupyterLab restores the tabs of earlier sessions. At the end the kernels and the
server are shut down.

The browser is the system's Chromium, found rather than assumed: ``$CHROMIUM`` when set, else the
first of ``chromium``, ``chromium-browser``, ``google-chrome`` on the ``PATH``; Playwright's own browser
download is never used. Without one these tests fail, saying how to install it: a suite that skips
them would pass without having tested the forms. Screenshots go to ``$VPCLINK_SCREENSHOTS`` when set,
else to pytest's temporary directory.

Every wait is on what the page shows (Playwright's ``expect`` polls until it holds): a value the
kernel sets after a round trip gets ``KERNEL_ROUNDTRIP_MS``, which only a broken page ever uses up.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 15.0
KERNEL_IDLE_TIMEOUT_MS = 60_000  # opening a notebook starts a kernel: seconds on a busy machine
STEP_TIMEOUT_MS = 10_000  # one interaction: short, so a broken selector fails fast
# What the page shows after the kernel answered (a widget's message, a cell's output): on a busy machine
# a round trip to the kernel can take many seconds; expect() returns as soon as the page shows it.
KERNEL_ROUNDTRIP_MS = 90_000
AUTOSAVE_SECONDS = 2  # JupyterLab's autosave interval in these tests (its default is 120 s)

_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def find_chromium() -> Path | None:
    """``$CHROMIUM``, else the first Chromium or Chrome on the ``PATH``."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    found = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    return Path(found) if found else None


@pytest.fixture(scope="session")
def chromium() -> Path:
    found = find_chromium()
    if found is None:
        where = (
            f"$CHROMIUM={os.environ['CHROMIUM']} is not a file"
            if os.environ.get("CHROMIUM")
            else (f"none of {', '.join(CHROMIUM_NAMES)} is on the PATH")
        )
        pytest.fail(
            f"the browser tests need Chromium and {where}: install it (Debian/Ubuntu: apt-get install -y "
            "chromium; macOS: brew install --cask chromium) or set CHROMIUM to its path",
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(settings_dir: Path) -> None:
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        # Keeps widget values in the saved notebook, so a test can read them back from the file.
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
        # Autosave as an analyst's JupyterLab does, only sooner, so a test observes it on disk.
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
            "autosave": True,
            "autosaveInterval": AUTOSAVE_SECONDS,
        },
    }
    for name, content in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@dataclass
class Lab:
    """A running JupyterLab: its URL, token and root directory (where tests put notebooks)."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def add_notebook(self, source: Path, name: str | None = None) -> str:
        """Copy a notebook into the server's root; returns its path relative to the root."""
        target = self.root / (name or source.name)
        shutil.copyfile(source, target)
        return target.name

    def workspace_url(self, notebook: str) -> str:
        """A URL that opens ``notebook`` alone in a fresh workspace (no tabs restored from others)."""
        return f"{self.url}/lab/workspaces/t{uuid.uuid4().hex[:12]}/tree/{notebook}?token={self.token}"


def _wait_ready(lab: Lab) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {lab.process.returncode} before it was ready")
        try:
            lab.api("GET", "/api/status")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"JupyterLab not ready after {SERVER_START_TIMEOUT:.0f} s")


def _stop(lab: Lab) -> None:
    # SIGTERM makes the server shut its kernels down (all at once) before it exits; kernels run in
    # sessions of their own, and one that outlives the server exits when it sees its parent gone.
    group = os.getpgid(lab.process.pid)  # the server's own session: nothing else is in it
    os.killpg(group, signal.SIGTERM)
    try:
        lab.process.wait(SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        lab.process.wait()


@pytest.fixture(scope="session")
def lab(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    dirs = {
        name: base / name.lower()
        for name in (
            "JUPYTER_CONFIG_DIR",
            "JUPYTER_RUNTIME_DIR",
            "JUPYTER_DATA_DIR",
            "IPYTHONDIR",
            "JUPYTERLAB_SETTINGS_DIR",
            "JUPYTERLAB_WORKSPACES_DIR",
            "HOME",
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
            "XDG_DATA_HOME",
        )
    }
    for path in dirs.values():
        path.mkdir()
    _settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    env = {
        **os.environ,
        **{k: str(v) for k, v in dirs.items()},
        "JUPYTER_PLATFORM_DIRS": "1",
        # kernels run with this interpreter, which has vpclink installed
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    token = secrets.token_hex(24)
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LanguageServerManager.autodetect=False",
    ]
    log = (base / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", token, root, process)
    try:
        _wait_ready(lab)
        yield lab
    finally:
        _stop(lab)
        log.close()


@pytest.fixture(scope="session")
def browser_context(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def expect(chromium: Path) -> Any:
    """Playwright's ``expect``, imported only once the browser tests are known to run (so a machine
    without Chromium skips them even when Playwright is not installed)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=KERNEL_ROUNDTRIP_MS)
    return expect


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("VPCLINK_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.getbasetemp() / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser_context: Any, screenshots: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    page = browser_context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        yield page
    finally:
        report = request.node.stash.get(_REPORTS, {}).get("call")
        if report is not None and report.failed:
            shot = screenshots / f"{request.node.name}-failed.png"
            page.screenshot(path=str(shot), full_page=True)
            request.node.add_report_section("call", "screenshot", str(shot))
        page.close()


def open_notebook(page: Any, lab: Lab, notebook: str) -> Any:
    """Open ``notebook`` in a fresh workspace and wait until its kernel is idle; returns the
    visible notebook panel, to scope every locator to it."""
    from playwright.sync_api import expect

    page.goto(lab.workspace_url(notebook))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    expect(panel).to_have_count(1, timeout=KERNEL_IDLE_TIMEOUT_MS)
    # The status bar, not the toolbar: the toolbar's indicator reports idle before the kernel is.
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=KERNEL_IDLE_TIMEOUT_MS)
    return panel


def run_all(page: Any) -> None:
    """Run > Run All Cells (JupyterLab 4 has no default shortcut for it)."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
