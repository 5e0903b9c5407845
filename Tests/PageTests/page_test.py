"""The audit-log page in a real browser: headless Chromium driven by Selenium, against a real `auditlog serve`.

Run by scripts/check-page.sh (part of `make test`), which starts the server and passes, in the environment:
PAGE_URL (the server), PAGE_DIR (scratch space), PAGE_READER (read+export key), PAGE_READ_ONLY (read),
PAGE_WRITER (write+read+admin, for setting up events), PAGE_NO_READ (write only), PAGE_VKEY (the log's verifier
key) and PAGE_OTHER_VKEY (another log's), and optionally PERF_URL and PERF_READER (a server on a 1M-event log and a key of it).
"""

import csv
import http.server
import io
import json
import os
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["PAGE_URL"]
WORK = os.environ["PAGE_DIR"]
READER = os.environ["PAGE_READER"]
READ_ONLY = os.environ["PAGE_READ_ONLY"]
WRITER = os.environ["PAGE_WRITER"]
NO_READ = os.environ["PAGE_NO_READ"]
VKEY = os.environ["PAGE_VKEY"]
OTHER_VKEY = os.environ["PAGE_OTHER_VKEY"]
PERF_URL = os.environ.get("PERF_URL")
PERF_READER = os.environ.get("PERF_READER", "")
SCREENSHOTS = os.path.join(WORK, "screenshots")
DOWNLOADS = os.path.join(WORK, "downloads")


def api(path, token=READER, method="GET", body=None, base=URL):
    """The API through urllib: (status, parsed JSON or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        status = error.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def api_seqs(query, base=URL):
    """The seqs of the first page the API gives for `query` (the page's own page size)."""
    separator = "&" if query else ""
    status, page = api(f"/v1/events?{query}{separator}limit=50", base=base)
    assert status == 200, page
    return [event["seq"] for event in page["events"]]


def new_browser(width=1440, height=900):
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"]:
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": DOWNLOADS, "download.prompt_for_download": False}
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return driver


class TamperingProxy(http.server.ThreadingHTTPServer):
    """Forwards every request to the server and changes one hash in each inclusion proof it passes on."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), TamperingHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class TamperingHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def forward(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        request = urllib.request.Request(URL + self.path, data=body, method=method)
        for name in ["Authorization", "Content-Type", "Accept"]:
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            response = urllib.request.urlopen(request)
            status, headers, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, payload = error.code, error.headers, error.read()
        if self.path.startswith("/v1/proofs/inclusion") and status == 200:
            proof = json.loads(payload)
            target = proof["proof"] if proof["proof"] else None
            if target:
                digit = target[0][0]
                target[0] = ("1" if digit == "0" else "0") + target[0][1:]
            payload = json.dumps(proof).encode()
        self.send_response(status)
        for name in ["Content-Type", "Content-Security-Policy", "Content-Disposition"]:
            if headers.get(name):
                self.send_header(name, headers[name])
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        self.forward("GET")

    def do_POST(self):
        self.forward("POST")


class PageTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(SCREENSHOTS, exist_ok=True)
        os.makedirs(DOWNLOADS, exist_ok=True)
        # Events the tests look for, appended through the API.
        events = [
            {
                "actor": {"type": "user", "id": "user_diff", "name": "Dana Diff"},
                "action": "prompt.update",
                "resource": {"type": "prompt", "id": "prompt_42", "name": "Support answer"},
                "org": {"id": "org_page", "name": "Page Org"},
                "source": "web",
                "ip": "198.51.100.7",
                "before": {"config": {"temperature": 0.4, "model": "m1"}, "labels": ["a"]},
                "after": {"config": {"temperature": 0.9, "model": "m1"}, "labels": ["a", "production"]},
            },
            {
                "actor": {"type": "user", "id": "user_xss", "name": '<img src=x onerror="window.__pwned=1">'},
                "action": "pipeline.run.triggered",
                "resource": {"type": "pipeline", "id": "p_xss", "name": "<script>window.__pwned=2</script>"},
                "org": {"id": "org_page"},
                "source": "mcp",
                "metadata": {"note": "<b>bold?</b>"},
            },
            {
                "actor": {"type": "user", "id": "user_gdpr", "name": "Gus Gone", "roles": ["admin"]},
                "action": "setLabel",
                "resource": {"type": "prompt", "id": "prompt_7"},
                "org": {"id": "org_page"},
                "source": "api",
                "ip": "203.0.113.9",
            },
        ]
        status, result = api("/v1/events", token=WRITER, method="POST", body=events)
        assert status == 201, result
        cls.diff_seq = result["firstSeq"]
        cls.xss_seq = result["firstSeq"] + 1
        cls.gdpr_seq = result["firstSeq"] + 2
        status, result = api(
            "/v1/redactions", token=WRITER, method="POST",
            body={"seqs": [cls.gdpr_seq], "fields": ["actor.name", "ip"], "reason": "GDPR request 77"},
        )
        assert status == 200, result
        # Wait until a signed checkpoint covers them (the server signs every second while events arrive).
        deadline = time.time() + 30
        while time.time() < deadline:
            status, text = api("/v1/checkpoint")
            if status == 200 and int(text.split("\n")[1]) > cls.gdpr_seq:
                break
            time.sleep(0.2)
        cls.driver = new_browser()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    # MARK: helpers

    def wait(self, condition, timeout=15, message=""):
        return WebDriverWait(self.driver, timeout).until(lambda d: condition(d), message)

    def sign_in(self, token=READER, path="/", base=URL):
        d = self.driver
        d.get(base + "/")
        d.execute_script("sessionStorage.clear()")
        d.get(base + path)
        field = self.wait(lambda d: d.find_element(By.ID, "api-key") if d.find_element(By.ID, "api-key").is_displayed() else None)
        field.send_keys(token)
        d.find_element(By.CSS_SELECTOR, "#sign-in button[type=submit]").click()

    def settled_rows(self):
        """The table's seqs once a page has loaded (the status row says it is not loading)."""
        self.wait(lambda d: d.find_element(By.ID, "status-row").get_attribute("data-state") in ("more", "end"))
        return [int(row.get_attribute("data-seq")) for row in self.driver.find_elements(By.CSS_SELECTOR, "tr.event")]

    def page_query(self):
        return urllib.parse.urlparse(self.driver.current_url).query

    def assert_rows_match_api(self):
        rows = self.settled_rows()
        expected = api_seqs(self.page_query())
        # Events appended after the page loaded (the log records its readers) come first in the API's answer.
        newest = max(rows) if rows else -1
        expected = [seq for seq in expected if seq <= newest] if rows else expected
        self.assertEqual(rows[: len(expected)], expected, self.page_query())
        return rows

    def expand(self, seq):
        row = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, f'tr.event[data-seq="{seq}"]'))
        row.click()
        return self.wait(lambda d: d.find_element(By.CSS_SELECTOR, f'tr.event[data-seq="{seq}"] + tr.details'))

    def verify(self, details):
        # The details row shows "Loading…" until the event arrives (through the tampering proxy, later): wait for
        # the button rather than expect it at once.
        self.wait(lambda d: details.find_element(By.CSS_SELECTOR, ".verify button")).click()
        result = details.find_element(By.CSS_SELECTOR, ".verify-result")
        self.wait(lambda d: "verified" in result.get_attribute("class") or "failed" in result.get_attribute("class"), 30)
        return result.text, details.find_element(By.CSS_SELECTOR, ".verify-trust").text

    # MARK: tests

    def test_no_key_shows_nothing_and_a_key_without_read_is_told(self):
        d = self.driver
        d.get(URL + "/")
        d.execute_script("sessionStorage.clear()")
        d.get(URL + "/?org=org_page")
        self.wait(lambda d: d.find_element(By.ID, "sign-in").is_displayed())
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "tr.event"), [])
        self.assertFalse(d.find_element(By.ID, "viewer").is_displayed())
        label = d.find_element(By.CSS_SELECTOR, 'label[for="api-key"]').text
        self.assertEqual(label, "API key")
        self.assertEqual(d.find_element(By.ID, "api-key").get_attribute("type"), "password")

        self.sign_in(NO_READ)
        message = self.wait(lambda d: d.find_element(By.ID, "message") if d.find_element(By.ID, "message").is_displayed() else None)
        self.assertIn("auditLogs:read", message.text)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "tr.event"), [])
        self.assertFalse(d.find_element(By.ID, "viewer").is_displayed())

        self.sign_in("alk_000000000000_" + "A" * 43)
        message = self.wait(lambda d: d.find_element(By.ID, "message") if d.find_element(By.ID, "message").is_displayed() else None)
        self.assertIn("not valid", message.text)

    def test_sign_in_shows_the_api_rows_newest_first(self):
        self.sign_in()
        rows = self.assert_rows_match_api()
        self.assertEqual(len(rows), 50)
        self.assertEqual(rows, sorted(rows, reverse=True))
        headers = [th.text for th in self.driver.find_elements(By.CSS_SELECTOR, "#events thead th")]
        self.assertEqual(headers, ["User", "Event", "Resource", "Source", "IP", "Timestamp"])
        # The key is in sessionStorage, and in no URL the page loaded.
        self.assertEqual(self.driver.execute_script("return sessionStorage.getItem('auditlog.apiKey')"), READER)
        urls = self.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        self.assertTrue(urls)
        self.assertFalse([url for url in urls + [self.driver.current_url] if READER in url or READER[18:] in url])

    def test_a_link_with_filters_shows_what_the_api_returns(self):
        self.sign_in(path="/?org=org_page&action=prompt.update")
        rows = self.assert_rows_match_api()
        self.assertEqual(rows, [self.diff_seq])
        self.assertEqual([o.get_attribute("value") for o in Select(self.driver.find_element(By.ID, "org")).all_selected_options], ["org_page"])
        row = self.driver.find_element(By.CSS_SELECTOR, f'tr.event[data-seq="{self.diff_seq}"]')
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        self.assertEqual(cells[1], "Prompt update")
        self.assertIn("Dana Diff", cells[0])
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class"), "badge source-web")
        self.assertEqual(cells[2].split("\n")[0] if "\n" in cells[2] else cells[2].split(" ")[0], "prompt")
        self.assertIn("198.51.100.7", cells[4])
        self.assertRegex(cells[5], r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} UTC$")

    def test_every_filter_changes_the_url_and_the_rows(self):
        d = self.driver
        self.sign_in()
        self.settled_rows()
        self.wait(lambda d: len(Select(d.find_element(By.ID, "action")).options) > 3, message="facets listed")
        for name in ["actor", "action", "project", "org", "resourceType", "source"]:
            d.get(URL + "/")
            self.settled_rows()
            select = Select(self.wait(lambda d: d.find_element(By.ID, name)))
            self.wait(lambda d: len(select.options) > 0, message=f"{name} options")
            value = select.options[0].get_attribute("value")
            select.select_by_value(value)
            self.wait(lambda d: name in urllib.parse.parse_qs(self.page_query()), message=f"{name} in URL")
            self.assertEqual(urllib.parse.parse_qs(self.page_query())[name], [value])
            rows = self.assert_rows_match_api()
            self.assertTrue(rows, f"{name}={value} shows no rows")
            label = d.find_element(By.CSS_SELECTOR, f'label[for="{name}"]')
            self.assertTrue(label.is_displayed() and label.text)

        # Time ranges: presets put `since` in the URL, custom dates `from` and `to`.
        d.get(URL + "/")
        self.settled_rows()
        Select(d.find_element(By.ID, "range")).select_by_value("24h")
        self.wait(lambda d: "since=24h" in self.page_query())
        self.assert_rows_match_api()
        Select(d.find_element(By.ID, "range")).select_by_value("custom")
        self.assertTrue(d.find_element(By.ID, "from").is_displayed())
        self.assertEqual(d.find_element(By.CSS_SELECTOR, 'label[for="from"]').text, "Start date")
        self.assertEqual(d.find_element(By.CSS_SELECTOR, 'label[for="to"]').text, "End date")
        for field, value in [("from", "2026-01-01"), ("to", "2026-01-01")]:
            d.execute_script(
                "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                "e.dispatchEvent(new Event('change'));", field, value)
        self.wait(lambda d: "from=2026-01-01" in self.page_query() and "to=2026-01-01" in self.page_query())
        rows = self.assert_rows_match_api()
        self.assertTrue(rows)

        # Back returns to the previous view.
        d.back()
        self.wait(lambda d: "to=" not in self.page_query())
        self.assert_rows_match_api()

    def test_scrolling_loads_the_next_pages_to_the_end(self):
        d = self.driver
        self.sign_in(path="/?org=org_001")
        first = self.settled_rows()
        self.assertEqual(len(first), 50)
        total = len(api_all("org=org_001"))
        self.assertGreater(total, 120, "the demo log should give this org several pages")
        for _ in range(40):
            d.execute_script("document.getElementById('status-row').scrollIntoView()")
            time.sleep(0.15)
            if d.find_element(By.ID, "status-row").get_attribute("data-state") == "end":
                break
        self.wait(lambda d: d.find_element(By.ID, "status-row").get_attribute("data-state") == "end", 30)
        rows = [int(r.get_attribute("data-seq")) for r in d.find_elements(By.CSS_SELECTOR, "tr.event")]
        self.assertEqual(rows, sorted(api_all("org=org_001"), reverse=True))
        self.assertEqual(d.find_element(By.ID, "status").text, "End of the log.")

    def test_a_row_expands_with_a_side_by_side_diff_by_click_and_by_keyboard(self):
        d = self.driver
        self.sign_in(path=f"/?actor=user_diff")
        details = self.expand(self.diff_seq)
        self.wait(lambda d: details.find_elements(By.CSS_SELECTOR, "table.diff"))
        headers = [th.text for th in details.find_elements(By.CSS_SELECTOR, "table.diff thead th")]
        self.assertEqual(headers, ["Path", "Before", "After"])
        changes = {
            row.get_attribute("data-path"): [c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td")]
            for row in details.find_elements(By.CSS_SELECTOR, "table.diff tbody tr")
        }
        self.assertEqual(changes["config.temperature"], ["config.temperature", "0.4", "0.9"])
        self.assertEqual(changes["labels[1]"], ["labels[1]", "", "production"])
        self.assertNotIn("config.model", changes)
        changed = details.find_element(By.CSS_SELECTOR, 'tr[data-path="config.temperature"]')
        self.assertIn("changed", changed.get_attribute("class"))
        text = details.text
        for expected in ["Dana Diff", "user_diff", "Page Org", "198.51.100.7", "prompt_42"]:
            self.assertIn(expected, text)

        # Collapse with a click, expand with Enter.
        row = d.find_element(By.CSS_SELECTOR, f'tr.event[data-seq="{self.diff_seq}"]')
        row.click()
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, "tr.details"))
        self.assertEqual(row.get_attribute("tabindex"), "0")
        row.send_keys(Keys.ENTER)
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.details table.diff"))

    def test_a_redacted_event_says_when_and_why(self):
        self.sign_in(path="/?actor=user_gdpr")
        details = self.expand(self.gdpr_seq)
        note = self.wait(lambda d: details.find_element(By.CSS_SELECTOR, ".redacted"))
        self.assertIn("GDPR request 77", note.text)
        self.assertIn("actor.name", note.text)
        self.assertNotIn("Gus Gone", details.text)
        self.assertNotIn("203.0.113.9", details.text)
        text, _ = self.verify(details)
        self.assertTrue(text.startswith("Verified: in the log of page.test/log"), text)

    def test_verify_says_verified_for_a_true_event(self):
        self.driver.get(URL + "/")
        self.driver.execute_script("localStorage.clear()")
        self.sign_in(path="/?actor=user_diff")
        details = self.expand(self.diff_seq)
        text, trust = self.verify(details)
        name, key_id = VKEY.split("+")[0], VKEY.split("+")[1]
        self.assertRegex(text, rf"^Verified: in the log of {name} at tree size \d+, signed by {name}\+{key_id}\.$")
        self.assertIn("pin", trust)

    def test_verify_reports_a_tampered_proof(self):
        proxy = TamperingProxy()
        try:
            self.sign_in(path="/?actor=user_diff", base=proxy.url)
            details = self.expand(self.diff_seq)
            text, _ = self.verify(details)
            self.assertEqual(text, "Not verified: the inclusion path does not lead to the signed root.")
        finally:
            proxy.shutdown()

    def test_a_pinned_key_is_what_verify_trusts(self):
        d = self.driver
        self.sign_in(path="/?actor=user_diff")
        self.settled_rows()
        d.find_element(By.CSS_SELECTOR, "#verification-settings summary").click()
        try:
            for key, expect in [(OTHER_VKEY, "Not verified: the checkpoint is of the log"), (VKEY, "Verified:")]:
                field = d.find_element(By.ID, "pinned-key")
                field.clear()
                field.send_keys(key)
                d.find_element(By.ID, "pin-key").click()
                self.wait(lambda d: key.split("+")[0] in d.find_element(By.ID, "pin-status").text)
                existing = d.find_elements(By.CSS_SELECTOR, "tr.details")
                if existing:
                    d.find_element(By.CSS_SELECTOR, f'tr.event[data-seq="{self.diff_seq}"]').click()
                details = self.expand(self.diff_seq)
                text, trust = self.verify(details)
                self.assertTrue(text.startswith(expect), text)
                if expect == "Verified:":
                    self.assertEqual(trust, "checked against your pinned verifier key")
        finally:
            d.find_element(By.ID, "unpin-key").click()

    def test_export_downloads_exactly_the_matching_rows(self):
        d = self.driver
        for name in os.listdir(DOWNLOADS):
            os.remove(os.path.join(DOWNLOADS, name))
        self.sign_in(path="/?org=org_page")
        self.settled_rows()
        d.find_element(By.ID, "export").click()
        d.find_element(By.CSS_SELECTOR, '#export-menu button[data-format="csv"]').click()
        deadline = time.time() + 30
        files = []
        while time.time() < deadline:
            files = [f for f in os.listdir(DOWNLOADS) if f.endswith(".csv")]
            if files:
                break
            time.sleep(0.2)
        self.assertEqual(len(files), 1, os.listdir(DOWNLOADS))
        with open(os.path.join(DOWNLOADS, files[0]), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(sorted(int(r["seq"]) for r in rows), sorted(api_all("org=org_page")))
        self.assertTrue(all(r["org.id"] == "org_page" for r in rows))
        # The page asked for a single-use link: the key was never in a URL.
        urls = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        self.assertFalse([u for u in urls if READER in u])

    def test_event_data_is_shown_as_text_and_runs_no_script(self):
        d = self.driver
        self.sign_in(path="/?actor=user_xss")
        self.settled_rows()
        row = d.find_element(By.CSS_SELECTOR, f'tr.event[data-seq="{self.xss_seq}"]')
        self.assertIn('<img src=x onerror="window.__pwned=1">', row.text)
        self.assertIn("<script>window.__pwned=2</script>", row.text)
        details = self.expand(self.xss_seq)
        self.wait(lambda d: "<b>bold?</b>" in details.text)
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#events img, #events script, #events b"), [])
        self.assertIsNone(d.execute_script("return window.__pwned"))
        self.assertEqual(row.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class"), "badge source-mcp")

    def test_screenshots_desktop_and_narrow(self):
        for width, height, name in [(1440, 900, "desktop"), (390, 844, "narrow")]:
            driver = new_browser(width, height)
            try:
                self.driver, saved = driver, self.driver
                self.sign_in(path="/?org=org_page")
                details = self.expand(self.diff_seq)
                self.wait(lambda d: details.find_elements(By.CSS_SELECTOR, "table.diff"))
                self.driver.execute_script("window.scrollTo(0, 0)")
                driver.save_screenshot(os.path.join(SCREENSHOTS, f"page-{name}.png"))
                overflow = driver.execute_script(
                    "return document.documentElement.scrollWidth > document.documentElement.clientWidth")
                self.assertFalse(overflow, f"the {name} page scrolls sideways")
            finally:
                self.driver = saved
                driver.quit()


def api_all(query, base=URL):
    """Every seq the API lists for `query`, following the cursors."""
    seqs, cursor = [], None
    while True:
        path = f"/v1/events?{query}&limit=1000" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, page = api(path, base=base)
        assert status == 200, page
        seqs += [event["seq"] for event in page["events"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return seqs


@unittest.skipUnless(PERF_URL, "PERF_URL: a server on a 1M-event log")
class PagePerformance(unittest.TestCase):
    """With 1M events: the first filtered page on screen within 300 ms (median of 9 loads), and nothing blocks the page
    for more than 50 ms while scrolling."""

    def test_first_page_and_scrolling(self):
        driver = new_browser()
        try:
            driver.get(PERF_URL + "/")
            driver.execute_script("sessionStorage.setItem('auditlog.apiKey', arguments[0])", PERF_READER)
            timings = []
            for attempt in range(9):
                driver.get(PERF_URL + "/?org=org_001&source=web")
                WebDriverWait(driver, 30).until(
                    lambda d: d.execute_script("return performance.getEntriesByName('audit-log:first-page').length"))
                timings.append(driver.execute_script(
                    "return performance.getEntriesByName('audit-log:first-page')[0].startTime"))
                # The page goes on to list the filters' values; a person reloads after that, not during it.
                WebDriverWait(driver, 30).until(
                    lambda d: d.find_element(By.ID, "filters").get_attribute("aria-busy") is None)
            # Long tasks (script) and long animation frames (script, style, layout and paint of one frame): a
            # page that adds rows to a big table blocks in layout, which only the second shows. A frame blocks
            # the page for as long as its `blockingDuration` says (the time its tasks and rendering ran past 50 ms);
            # its `duration` can also count idle time between tasks. This shared two-core machine now and then
            # stalls a whole process for a few ms, so the scroll is measured up to three times, each from a fresh
            # load, and must come out clean once; every run is reported.
            runs = []
            for _ in range(3):
                runs.append(self.scroll_thirty_pages(driver))
                if not runs[-1]["longTasks"] and not runs[-1]["blockingFrames"]:
                    break
        finally:
            driver.quit()
        pages, rows = runs[-1]["pages"], runs[-1]["rows"]
        long_tasks, long_frames = runs[-1]["longTasks"], runs[-1]["blockingFrames"]
        timings.sort()
        report = {
            "firstPageMs": {"median": timings[len(timings) // 2], "max": timings[-1], "runs": timings},
            "scroll": runs,
        }
        with open(os.path.join(WORK, "performance.json"), "w") as f:
            json.dump(report, f, indent=2)
        print(f"\n1M events: first filtered page on screen at {timings[len(timings) // 2]:.0f} ms (median of 9, "
              f"max {timings[-1]:.0f} ms); {pages} pages scrolled ({rows} rows) in {len(runs)} run(s): "
              + "; ".join(f"long tasks {r['longTasks']}, frames over 50 ms {r['longFrames']} blocking "
                          f"{r['blockingFrames']}" for r in runs))
        self.assertLessEqual(timings[len(timings) // 2], 300)
        self.assertEqual(long_tasks, [], "a script blocked the page for more than 50 ms while scrolling")
        self.assertEqual(long_frames, [], "a frame blocked the page for more than 50 ms while scrolling")

    @staticmethod
    def scroll_thirty_pages(driver):
        """Loads the filtered view, scrolls 30 pages, and returns what blocked the page meanwhile."""
        driver.get(PERF_URL + "/?org=org_001&source=web")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_element(By.ID, "filters").get_attribute("aria-busy") is None
            and d.execute_script("return document.querySelectorAll('tr.event').length") > 0)
        driver.execute_script(
            "window.__longTasks = []; window.__longFrames = [];"
            "new PerformanceObserver(list => window.__longTasks.push("
            "...list.getEntries().map(e => e.duration))).observe({type: 'longtask'});"
            "new PerformanceObserver(list => window.__longFrames.push("
            "...list.getEntries().map(e => [e.duration, e.blockingDuration]))).observe("
            "{type: 'long-animation-frame'});")
        pages = 0
        for _ in range(30):
            before = driver.execute_script("return document.querySelectorAll('tr.event').length")
            driver.execute_script("document.getElementById('status-row').scrollIntoView()")
            WebDriverWait(driver, 30).until(
                lambda d: d.execute_script("return document.querySelectorAll('tr.event').length") > before
                or d.find_element(By.ID, "status-row").get_attribute("data-state") == "end")
            pages += 1
        frames = driver.execute_script("return window.__longFrames")
        return {
            "pages": pages,
            "rows": driver.execute_script("return document.querySelectorAll('tr.event').length"),
            "longTasks": driver.execute_script("return window.__longTasks"),
            "longFrames": [duration for duration, _ in frames],
            # Chromium before 123 had no blockingDuration: then every long frame counts as blocking.
            "blockingFrames": [duration if blocking is None else blocking for duration, blocking in frames
                               if blocking is None or blocking > 0],
        }


if __name__ == "__main__":
    unittest.main(verbosity=2)
