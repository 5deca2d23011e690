"""The lessons website in a real browser: Debian's headless Chromium, driven by Selenium through the system
chromedriver (Selenium Manager is never asked, so nothing is downloaded).

`make test` builds the site (`make docs`) and installs the browser before pytest; run alone, this module skips
with the reason when the site has not been built or no browser is installed. It serves site/ over http on a
free local port, opens the home page, every lesson, the docs pages, the downloads page and an API page, and
checks each: its title, every <img> loaded (naturalWidth > 0, GIFs included), the maths typeset by MathJax
(SVG, shipped inside the site) without errors, no severe console message. A full-page screenshot of each
page goes to build/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "site"
SCREENSHOTS = REPO / "build" / "screenshots"
LESSONS = sorted(path.stem for path in (REPO / "notebooks").glob("[0-9]*.ipynb"))
STUDENT_NOTEBOOKS = sorted(path.name for path in (REPO / "notebooks" / "student").glob("*.ipynb"))
DOCS_PAGES = sorted(path.stem for path in (REPO / "docs").glob("*.md"))

# page (relative to site/) -> what its title must contain
PAGES = {"index.html": "gcnn-edu", "downloads.html": "Downloads", "api/gcnn_edu.nn.html": "gcnn_edu.nn"}
PAGES |= {f"notebooks/{lesson}.html": f"Lesson {int(lesson[:2])}" for lesson in LESSONS}
PAGES |= {f"docs/{page}.html": "" for page in DOCS_PAGES}
PAGES["docs/conventions.html"] = "Conventions"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="the site is not built: run `make docs` first"),
    pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                       reason="no browser: `apt-get install chromium chromium-driver` (make test does it as root)"),
]


def _expected_pictures(lesson: str) -> int:
    """How many pictures a lesson shows: its image outputs and the images of its Markdown cells."""
    notebook = json.loads((REPO / "notebooks" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    count = 0
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            count += len(re.findall(r"!\[[^\]]*\]\(", "".join(cell["source"])))
        for output in cell.get("outputs", []):
            count += any(kind.startswith("image/") for kind in output.get("data", {}))
    return count


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the name http.server gives it
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager, were it ever asked, stays off the network
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))  # the system's: no download
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(300)  # generous: the 2-core machines are often busy
    driver.set_script_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _open(driver, url: str) -> None:
    """Load a page and wait until its images have arrived and MathJax (if it loads) has typeset everything."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(url)
    wait = WebDriverWait(driver, 300)
    wait.until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete)"))
    if driver.execute_script("return !!document.querySelector('script[src*=\"assets/mathjax/\"]')"):
        wait.until(lambda d: d.execute_script("return !!(window.MathJax && MathJax.startup?.promise)"))
        driver.execute_async_script("const done = arguments[arguments.length - 1]; "
                                    "MathJax.startup.promise.then(() => done(), () => done());")


def _screenshot(driver, page: str) -> Path:
    """A PNG of the whole page, not only the window (Chrome DevTools: captureBeyondViewport)."""
    import base64

    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16_000), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True, "clip": clip})
    path = SCREENSHOTS / (page.removesuffix(".html").replace("/", "__") + ".png")
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_renders(browser, server, page):
    _open(browser, server + page)
    assert PAGES[page] in browser.title, f"{page}: title {browser.title!r} lacks {PAGES[page]!r}"
    assert browser.title.endswith("gcnn-edu"), f"{page}: title {browser.title!r}"

    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.naturalWidth])")
    broken = [source for source, width in images if width == 0]
    assert not broken, f"{page}: images that did not load: {broken}"

    if page.startswith("notebooks/"):
        lesson = page.removeprefix("notebooks/").removesuffix(".html")
        shown = browser.execute_script("return document.querySelectorAll('.jupyter-wrapper img').length")
        assert shown >= _expected_pictures(lesson), f"{page}: {shown} pictures, the notebook has more"
    if page.startswith("notebooks/") or browser.execute_script("return !!document.querySelector('.arithmatex')"):
        typeset = browser.execute_script("return document.querySelectorAll('mjx-container svg').length")
        assert typeset > 0, f"{page}: no maths typeset by MathJax"
    # a TeX error is an merror node; an undefined macro is typeset in red (MathJax's noundefined)
    failed = browser.execute_script(
        "return Array.from(document.querySelectorAll("
        "'mjx-container [data-mml-node=merror], mjx-container g[fill=red]'))"
        ".map(e => e.getAttribute('data-mjx-error') || e.textContent || e.innerHTML.slice(0, 80))")
    assert not failed, f"{page}: MathJax could not typeset {failed}"

    severe = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, f"{page}: console errors {severe}"
    assert _screenshot(browser, page).stat().st_size > 10_000


def test_navigation_reaches_every_lesson(browser, server):
    _open(browser, server + "index.html")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav.md-nav a.md-nav__link')).map(a => a.href)")
    reached = {link.removeprefix(server).split("#")[0] for link in links}
    missing = {f"notebooks/{lesson}.html" for lesson in LESSONS} - reached
    assert not missing, f"the home page's navigation does not reach {sorted(missing)}"


def test_downloads_answer(browser, server):
    _open(browser, server + "downloads.html")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('article a')).map(a => a.getAttribute('href'))")
    offered = sorted(link for link in links if link and link.endswith(".ipynb"))
    students = [link.removeprefix("notebooks/student/") for link in offered if link.startswith("notebooks/student/")]
    lessons = [link for link in offered if not link.startswith("notebooks/student/")]
    assert students == STUDENT_NOTEBOOKS, "the downloads page must offer exactly the student notebooks there are"
    assert lessons == [f"notebooks/{lesson}.ipynb" for lesson in LESSONS]
    for link in offered:
        with urllib.request.urlopen(server + link, timeout=10) as response:  # noqa: S310 - our local server
            assert response.status == 200, link
            assert "cells" in json.loads(response.read()), f"{link} is not a notebook"
