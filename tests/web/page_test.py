#!/usr/bin/env python3
"""Browser test: Tenet's web page in headless Chromium (Debian's chromium and
chromium-driver), driven by Selenium.

Usage: python tests/web/page_test.py BASE_URL ROOT

BASE_URL is a `tenet serve --transport http --root ROOT` (watching ROOT), whose ROOT holds
`rust/security.md`, a document with a <script> element, an onerror attribute and a
javascript: link, and `rust/style.md`, which this test edits.

Checks: the matrix links every cell; search as you type, open a hit, see its section;
an edit on disk reaches the open page without a reload; the hostile document runs no
script; the search list is reachable from the keyboard; nine pages opened one after another
each load at once (a page left behind lets its event stream go); the page fits a phone's width.
It also prints the first load of `/` (bytes transferred, time to a rendered page). With
TENET_SCREENSHOTS=DIR it saves the screenshots the README shows there.
One line per check, then exactly `N passed, M failed`.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
import traceback

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 10.0


class Failure(Exception):
    """A check's expectation was not met."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def wait(driver: webdriver.Chrome, condition, what: str):
    try:
        return WebDriverWait(driver, WAIT).until(condition)
    except Exception as exc:  # noqa: BLE001 - name what did not happen
        raise Failure(f"{what} within {WAIT:.0f}s") from exc


def matrix(driver: webdriver.Chrome, base: str) -> str:
    driver.get(base + "/")
    cells = driver.find_elements(By.CSS_SELECTOR, "table.matrix td a")
    hrefs = {c.get_attribute("href").removeprefix(base) for c in cells}
    expect("/standards/rust/testing" in hrefs and "/standards/all/security" in hrefs, f"cells: {sorted(hrefs)[:8]}")
    expect(driver.find_element(By.TAG_NAME, "h1").text == "Engineering standards", "heading")
    connect = driver.find_element(By.CSS_SELECTOR, ".connect").text
    expect(f"claude mcp add --transport http tenet {base}/mcp" in connect, f"connect panel: {connect[:200]}")
    shots = os.environ.get("TENET_SCREENSHOTS")
    if shots:  # for the README: the matrix, and a standard mid-search
        driver.save_screenshot(str(pathlib.Path(shots) / "page-matrix.png"))
    return f"{len(cells)} cells, connect panel for {base}/mcp"


def search_and_open(driver: webdriver.Chrome, base: str) -> str:
    driver.get(base + "/")
    box = driver.find_element(By.ID, "q")
    box.send_keys("property based tests")
    first = wait(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, "#hits li a")), "search-as-you-type hits")
    heading, href = first.text, first.get_attribute("href")
    expect("#" in href, f"the hit links to a section: {href}")
    expect(driver.find_elements(By.CSS_SELECTOR, "#hits mark"), "matches marked in the snippet")
    shots = os.environ.get("TENET_SCREENSHOTS")
    if shots:
        driver.save_screenshot(str(pathlib.Path(shots) / "page-search.png"))
    first.click()
    fragment = href.split("#", 1)[1]
    wait(driver, lambda d: d.current_url == href, "the hit's page")
    target = driver.find_element(By.ID, fragment)
    expect(target.text == heading, f"the section {fragment!r} is {target.text!r}, the hit said {heading!r}")
    top = driver.execute_script("return arguments[0].getBoundingClientRect().top", target)
    height = driver.execute_script("return window.innerHeight")
    expect(0 <= top < height, f"the section is on screen (top {top}, height {height})")
    return f"'{heading}' at {href.removeprefix(base)}"


def keyboard(driver: webdriver.Chrome, base: str) -> str:
    driver.get(base + "/")
    box = driver.find_element(By.ID, "q")
    box.send_keys("error handling")
    wait(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, "#hits li a")), "hits")
    box.send_keys(Keys.ARROW_DOWN)
    active = driver.switch_to.active_element
    expect(active.tag_name == "a" and "#" in active.get_attribute("href"), "ArrowDown moves to the first hit")
    active.send_keys(Keys.ARROW_DOWN)
    second = driver.switch_to.active_element
    expect(second.get_attribute("href") != active.get_attribute("href"), "and on to the next")
    second.send_keys(Keys.ESCAPE)
    expect(driver.switch_to.active_element.get_attribute("id") == "q", "Escape goes back to the box")
    expect(not driver.find_element(By.ID, "hits").is_displayed(), "and closes the list")
    return "ArrowDown, ArrowDown, Escape"


def live(driver: webdriver.Chrome, base: str, root: pathlib.Path) -> str:
    driver.get(base + "/standards/rust/style")
    expect("Naming" in driver.find_element(By.TAG_NAME, "main").text, "the document before the edit")
    driver.execute_script("window.__notReloaded = true")
    time.sleep(0.5)  # the page's event stream is open
    path = root / "rust" / "style.md"
    marker = f"Edited at {time.time():.0f}"
    path.write_text(path.read_text().replace("## Naming", f"## {marker}"))
    started = time.monotonic()
    wait(driver, lambda d: marker in d.find_element(By.TAG_NAME, "main").text, "the edit on the open page")
    elapsed = time.monotonic() - started
    expect(driver.execute_script("return window.__notReloaded === true"), "the page was updated in place, not reloaded")
    notice = driver.find_element(By.ID, "notice")
    expect(notice.is_displayed() and "Updated from disk" in notice.text, f"notice: {notice.text!r}")
    return f"the new heading shown {elapsed:.2f}s after the write, in place"


def hostile(driver: webdriver.Chrome, base: str) -> str:
    driver.get(base + "/standards/rust/security")
    main = driver.find_element(By.TAG_NAME, "main").text
    expect("<script>window.pwned = 1</script>" in main, "the script element shown as text")
    expect('onerror="window.pwned = 2"' in main, "the img shown as text")
    link = driver.find_element(By.LINK_TEXT, "a link")
    expect(not link.get_attribute("href").lower().startswith("javascript"), f"href {link.get_attribute('href')}")
    link.click()
    time.sleep(0.3)
    pwned = driver.execute_script("return window.pwned === undefined ? null : window.pwned")
    expect(pwned is None, f"window.pwned = {pwned}")
    scripts = [s.get_attribute("src") for s in driver.find_elements(By.TAG_NAME, "script")]
    expect(scripts == [base + "/assets/tenet.js"], f"scripts on the page: {scripts}")
    return "script, onerror and javascript: shown as text or dropped; only the page's own script"


def phone(driver: webdriver.Chrome, base: str) -> str:
    driver.set_window_size(375, 812)
    try:
        for path in ("/", "/standards/rust/testing"):
            driver.get(base + path)
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            expect(overflow <= 1, f"{path} is {overflow}px wider than a 375px screen")
    finally:
        driver.set_window_size(1280, 900)
    return "/ and a standard fit 375px"


def many_pages(driver: webdriver.Chrome, base: str) -> str:
    # Every page follows the server's changes on a stream, and a browser holds at most six
    # connections to one server: a page left behind must let its stream go, or the
    # seventh page waits for one to time out.
    took = []
    for i in range(9):
        path = ("/", "/standards/rust/testing", "/standards/all/security")[i % 3]
        started = time.monotonic()
        driver.get(base + path)
        took.append(time.monotonic() - started)
        expect(took[-1] < 5, f"page {i + 1} ({path}) took {took[-1]:.1f}s to load: {[round(t, 2) for t in took]}")
    return f"nine pages in a row, the slowest in {max(took):.2f}s"


def first_load(driver: webdriver.Chrome, base: str) -> str:
    driver.get("about:blank")
    driver.get(base + "/")
    timing = driver.execute_script(
        """
        const nav = performance.getEntriesByType('navigation')[0];
        const assets = performance.getEntriesByType('resource');
        return {
          bytes: nav.transferSize + assets.reduce((n, r) => n + r.transferSize, 0),
          requests: 1 + assets.length,
          ready: nav.domContentLoadedEventEnd,
          loaded: nav.loadEventEnd,
        };
        """
    )
    expect(timing["bytes"] < 64 * 1024, f"first load of / is {timing['bytes']} bytes")
    return (
        f"{timing['bytes']} bytes in {timing['requests']} requests, DOM ready {timing['ready']:.0f} ms, "
        f"loaded {timing['loaded']:.0f} ms"
    )


def main() -> int:
    base, root = sys.argv[1].rstrip("/"), pathlib.Path(sys.argv[2])
    driver = browser()
    passed = failed = 0
    checks = [
        ("the matrix links every standard", lambda: matrix(driver, base)),
        ("search as you type, open a hit, see the section", lambda: search_and_open(driver, base)),
        ("the hits are reachable from the keyboard", lambda: keyboard(driver, base)),
        ("an edit on disk reaches the open page", lambda: live(driver, base, root)),
        ("a document with injected HTML runs no script", lambda: hostile(driver, base)),
        ("one page after another, never waiting for a connection", lambda: many_pages(driver, base)),
        ("readable on a phone", lambda: phone(driver, base)),
        ("first load of /", lambda: first_load(driver, base)),
    ]
    try:
        for name, check in checks:
            try:
                detail = check()
                print(f"PASS [web] {name}: {detail}")
                passed += 1
            except Exception as exc:  # noqa: BLE001 - report every check
                print(f"FAIL [web] {name}: {type(exc).__name__}: {exc}")
                for frame in traceback.extract_tb(exc.__traceback__)[-2:]:
                    print(f"    at line {frame.lineno}: {frame.line}")
                failed += 1
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        if errors:
            print(f"FAIL [web] the browser's console has errors: {errors[:3]}")
            failed += 1
    finally:
        driver.quit()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
