"""The review app in a real headless Chromium (Selenium with Debian's chromium-driver): open the queue
with the token, review an item, reload and find the decision kept; a planted script runs nothing."""

from __future__ import annotations

import shutil
import threading
from urllib.parse import quote

import pytest

from grader.config import load_config
from grader.gradebook import Gradebook
from tests.test_browser import CHROMIUM
from tests.test_report import HOSTILE_FOLDER
from tests.test_review import pristine  # noqa: F401 (the graded class, shared)

CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip("selenium.webdriver", reason="Selenium drives the browser: pip install '.[test]'")
pytest.importorskip("flask", reason="the review app needs Flask: pip install '.[review]'")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="headless Chromium and chromedriver not found: install them with "
                                       "`apt-get install chromium chromium-driver` (.ci/run does)")


@pytest.fixture
def served(pristine, tmp_path):  # noqa: F811
    """The review app of a fresh copy of the graded class, on a free port of 127.0.0.1."""
    from werkzeug.serving import make_server

    from grader.review.app import create_app

    shutil.copytree(pristine, tmp_path / "w")
    out = tmp_path / "w" / "out"
    app = create_app(out, load_config(None), "browser-token", "ta-browser")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PORT"] = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", out
    server.shutdown()


@pytest.fixture
def browser(tmp_path):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_review_an_item_in_chromium_and_find_it_kept_after_a_reload(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, out = served
    browser.get(f"{base}/?token=browser-token&kind=failed_to_load")
    assert browser.find_element(By.ID, "progress").text.startswith("0 of ")
    browser.find_element(By.CSS_SELECTOR, "a.open-item").click()
    arrived = WebDriverWait(browser, 30)  # a click navigates asynchronously: wait for the page it leads to
    arrived.until(lambda driver: "/item" in driver.current_url and driver.find_elements(By.ID, "save"))
    assert "cleo" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.execute_script("return document.documentElement.dataset.reviewScript") == "ready"  # CSP allows it
    browser.find_element(By.ID, "score").send_keys("6")
    browser.find_element(By.ID, "comment").send_keys("handed in by mail, graded by hand")
    browser.find_element(By.ID, "save").click()
    assert arrived.until(lambda driver: driver.find_elements(By.ID, "saved"))  # the POST and its redirect
    browser.refresh()
    assert browser.find_element(By.ID, "item-status").text.startswith("done")
    assert browser.find_element(By.ID, "score").get_attribute("value") == "6"
    assert browser.find_element(By.ID, "comment").get_attribute("value") == "handed in by mail, graded by hand"
    assert "handed in by mail" in browser.find_element(By.ID, "history").text
    with Gradebook(out / "gradebook.sqlite") as book:
        assert [(d.name, d.score, d.by) for d in book.decisions()] == [("cleo", 6.0, "ta-browser")]
    browser.get(f"{base}/")  # the cookie stands in for the token from now on
    assert "1 of " in browser.find_element(By.ID, "progress").text


def test_a_planted_script_runs_nothing_in_the_review_pages(served, browser):
    from selenium.webdriver.common.by import By

    base, _ = served
    name = quote(HOSTILE_FOLDER)
    for path in ("/?token=browser-token", f"/handin?name={name}", f"/item?k=check&n={name}&s=softmax.matches_tf"):
        browser.get(base + path)
        assert browser.execute_script("return document.body.dataset.pwned") is None, path
        assert browser.execute_script("return document.documentElement.dataset.reviewScript") == "ready"
    assert "document.body.dataset.pwned" in browser.find_element(By.ID, "code").text  # shown as text
