"""Notebook 02 in a real JupyterLab: run it, drag the embedding slider, see the figure change.

A JupyterLab server is started on a free local port with its own settings and workspace
folders, serving a copy of notebooks/02_autoencoders.ipynb; headless Chromium opens the
notebook, waits for its kernel to be idle, runs every cell once from the Run menu, waits for
the checks cell to print (failing early, with what it saw, if the kernel dies), moves DEC's
embedding slider to its first frame and compares screenshots of the widget before and after.
The server is stopped at the end (its kernels with it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
from browserkit import ROOT, free_port
from playwright.sync_api import TimeoutError as PlaywrightTimeout

NOTEBOOK = "02_autoencoders.ipynb"
TOKEN = "dclearn-browser-test"
RUN_TIMEOUT_S = 600


@pytest.fixture
def lab(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, work / NOTEBOOK)
    # every cell in the page (no windowing, so that off-screen outputs can be found); no news
    settings = tmp_path / "settings"
    for plugin, values in {"notebook-extension/tracker": '{"windowingMode": "none"}',
                           "apputils-extension/notification": '{"fetchNews": "false"}'}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(values)
    port = free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env.pop("MPLBACKEND", None)  # the notebook's %matplotlib inline decides
    # one torch thread in the kernel: the test must not depend on the machine being idle (two
    # threads on two busy cores spin against each other and made the run five times slower)
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work}",
           "--allow-root"]
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                log.close()
                pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text())
            time.sleep(0.5)
    yield url, server
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


def test_embedding_slider_moves_the_figure(browser, lab):
    url, server = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={TOKEN}", wait_until="load")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    # Run All once the notebook's kernel is idle (a Run All sent while it starts may be lost, and
    # a second one would queue the whole notebook twice): the server's kernels API says when. A
    # modal dialog of JupyterLab's start (kernel choice, a notice) blocks the kernel's start and
    # the menu: it gets its default answer, and a failure names the dialogs there were
    dialogs: list[str] = []
    _wait_for_idle_kernel(url, page, dialogs)
    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for _ in range(20):
        if _answer_dialog(page, dialogs):
            continue
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            page.wait_for_function("e => /\\[(\\*|\\d+)\\]/.test(e.textContent)",
                                   arg=first_prompt.element_handle(), timeout=30_000)
            break
        except PlaywrightTimeout:
            continue
    else:
        pytest.fail(f"JupyterLab never started running the notebook; dialogs: {dialogs}")

    # every cell ran: the final checks cell prints its line, a cell fails, or the kernel dies;
    # a run that overstays says where it was, what the kernel was doing and what used the CPU
    deadline = time.time() + RUN_TIMEOUT_S
    while True:
        state = page.evaluate(_PROGRESS_JS)
        if state["done"] or state["error"]:
            break
        kernel = _kernel_state(url)
        if kernel in ("dead", "restarting", "autorestarting", None):
            pytest.fail(f"the kernel stopped while {NOTEBOOK} ran (kernel: {kernel}, dialog: "
                        f"{state['dialog']!r}, progress: {state['prompts']})")
        _answer_dialog(page, dialogs)  # a notice must not stop the run; it is named on failure
        if time.time() > deadline:
            pytest.fail(f"{NOTEBOOK} did not finish in JupyterLab within {RUN_TIMEOUT_S} s "
                        f"(kernel: {kernel}; input prompts: {state['prompts']}; dialogs: "
                        f"{dialogs}); busiest processes:\n{_busiest_processes()}")
        time.sleep(2)
    assert state["max_count"] <= state["code_cells"], \
        f"the notebook was run more than once: execution counts {state['prompts']}"
    errors = page.eval_on_selector_all('[data-mime-type="application/vnd.jupyter.error"]',
                                       "es => es.map(e => e.textContent.slice(0, 800))")
    assert not errors, f"a cell of {NOTEBOOK} failed in JupyterLab: {errors}"

    widget = page.locator(".widget-interact").first
    widget.scroll_into_view_if_needed()
    figure = widget.locator("img").first
    figure.wait_for(timeout=60_000)
    readout = widget.locator(".widget-readout").first
    before_value = readout.inner_text()
    before_src = figure.get_attribute("src")
    before = widget.screenshot()

    handle = widget.locator(".noUi-handle").first
    handle.focus()
    handle.press("Home")  # the first frame (the slider starts on the last)
    page.wait_for_function(
        "([sel, old]) => { const i = document.querySelector(sel); "
        "return i && i.getAttribute('src') !== old; }",
        arg=[".widget-interact img", before_src], timeout=60_000)
    time.sleep(0.5)  # let the new image paint
    after = widget.screenshot()
    assert readout.inner_text() != before_value, "the slider's value did not change"
    assert after != before, "the figure looks the same after the slider moved"
    assert not page_errors, page_errors
    context.close()

    server.terminate()
    server.wait(timeout=30)
    assert server.poll() is not None, "JupyterLab did not stop"


_PROGRESS_JS = """() => {
  const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
      .map(e => e.textContent.trim());
  const counts = prompts.map(p => parseInt((p.match(/\\[(\\d+)\\]/) || [0, 0])[1]));
  const dialog = document.querySelector('.jp-Dialog');
  return {done: outs.some(e => e.textContent.includes('all checks passed')),
          error: !!document.querySelector('[data-mime-type="application/vnd.jupyter.error"]'),
          dialog: dialog ? dialog.innerText.slice(0, 200) : '',
          prompts: prompts.join(' '), code_cells: prompts.length,
          max_count: Math.max(0, ...counts)};
}"""


def _kernel_state(url: str) -> str | None:
    """The execution state of the notebook's kernel, the server's only one (None before it
    starts)."""
    with urllib.request.urlopen(f"{url}/api/kernels?token={TOKEN}", timeout=10) as reply:
        kernels = json.load(reply)
    return kernels[0].get("execution_state") if kernels else None


def _answer_dialog(page, dialogs: list[str]) -> bool:
    """Give an open modal dialog its default answer (Escape without one); True if there was one."""
    dialog = page.locator(".jp-Dialog")
    if not dialog.count():
        return False
    dialogs.append(dialog.first.inner_text()[:200])
    accept = dialog.first.locator(".jp-mod-accept")
    (accept.first.click() if accept.count() else page.keyboard.press("Escape"))
    return True


def _wait_for_idle_kernel(url: str, page, dialogs: list[str], timeout_s: float = 180) -> None:
    deadline = time.time() + timeout_s
    state = None
    while time.time() < deadline:
        _answer_dialog(page, dialogs)
        state = _kernel_state(url)
        if state == "idle":
            return
        time.sleep(1)
    pytest.fail(f"the kernel of {NOTEBOOK} was not idle {timeout_s:.0f} s after the page opened "
                f"(last state: {state}; dialogs: {dialogs})")


def _busiest_processes() -> str:
    try:
        return subprocess.run(["ps", "-eo", "pid,pcpu,etime,args", "--sort=-pcpu"],
                              capture_output=True, text=True, timeout=10).stdout[:1500]
    except (OSError, subprocess.SubprocessError) as exc:
        return f"(ps failed: {exc})"
