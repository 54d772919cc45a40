#!/usr/bin/env python3
"""The web page's first load in headless Chromium (Debian's chromium, Selenium): `/`
loaded N times with the browser's cache off, each from a blank page; prints a markdown
table of the medians (bytes transferred, requests, DOM ready, load event).

Usage: python bench/rest/first_load.py BASE_URL N
"""

from __future__ import annotations

import statistics
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def main() -> None:
    base, loads = sys.argv[1].rstrip("/"), int(sys.argv[2])
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    samples = []
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        for _ in range(loads):
            driver.get("about:blank")
            driver.get(base + "/")
            samples.append(
                driver.execute_script(
                    """
                    const nav = performance.getEntriesByType('navigation')[0];
                    const assets = performance.getEntriesByType('resource');
                    return { bytes: nav.transferSize + assets.reduce((n, r) => n + r.transferSize, 0),
                             requests: 1 + assets.length, ready: nav.domContentLoadedEventEnd,
                             loaded: nav.loadEventEnd };
                    """
                )
            )
    finally:
        driver.quit()
    med = {k: statistics.median(s[k] for s in samples) for k in ("bytes", "requests", "ready", "loaded")}
    print("| loads | bytes transferred | requests | DOM ready (ms) | load event (ms) |")
    print("|---|---|---|---|---|")
    print(f"| {loads} | {med['bytes']:,.0f} | {med['requests']:.0f} | {med['ready']:.1f} | {med['loaded']:.1f} |")
    print()
    print("Medians; the page, its stylesheet and its script, cache off, on 127.0.0.1 (`tenet serve --transport http`, built-in corpus).")


if __name__ == "__main__":
    main()
