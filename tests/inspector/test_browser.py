"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): live list and detail without reloads, cancel, retry (once per double click), send,
markup shown as text, the token's cookie.

A missing browser fails these tests; scripts/system-deps installs it. With
DEEPSLATE_SCREENSHOTS=1 the screenshot test writes docs/inspector-list.png and
docs/inspector-detail.png.
"""
import os
import pathlib
import shutil
import tempfile
import time

import pytest

from deepslate import _vm, new_sqlite, spawn_inspector, spawn_workers
from deepslate.program import serial
from deepslate.inspector import Inspector, StoreRequestActions
from deepslate.store import Commit, IsolateRow, SQLiteStore
from deepslate.store.base import ProgramPut

from inspector.inspectflows import FLOWS, calls, marked

pytestmark = pytest.mark.timeout(120)

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DEEPSLATE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("DEEPSLATE_CHROMEDRIVER") or shutil.which("chromedriver")
WAIT = 10.0
SCREENSHOTS = os.environ.get("DEEPSLATE_SCREENSHOTS") == "1"


@pytest.fixture(scope="module")
def driver():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.fail("the inspector's browser tests need Chromium and chromedriver: install Debian's chromium and "
                    "chromium-driver (scripts/system-deps does), or set DEEPSLATE_CHROMIUM and "
                    "DEEPSLATE_CHROMEDRIVER to their paths")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")      # no Selenium Manager look-ups on the network
    os.environ.setdefault("SE_AVOID_STATS", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--window-size=1360,900", "--force-device-scale-factor=1"):
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="deepslate-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """(platform, workers, inspector) for the whole module: one engine, one inspector."""
    tmp = tmp_path_factory.mktemp("browser")
    platform, _ = new_sqlite(str(tmp / "s.db"), "127.0.0.1:0")
    w = spawn_workers(4, platform, FLOWS)
    ins = spawn_inspector(platform, "127.0.0.1:0")
    yield platform, w, ins, tmp
    w.stop()


@pytest.fixture(autouse=True)
def no_script_errors(driver):
    driver.get_log("browser")
    yield
    # a refused action logs its status as a failed load; anything else is the page's own error
    errors = [e["message"] for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert not errors, errors


def wait_for(driver, cond, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} not seen within {timeout} s"
        time.sleep(0.05)


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def open_page(driver, ins, fragment):
    driver.get(ins.url + "/" + fragment)
    js(driver, "window.__loaded = 1")     # gone if the page reloads


def not_reloaded(driver):
    return js(driver, "return window.__loaded") == 1


def row_steps(driver, name):
    return js(driver, """
        const tr = [...document.querySelectorAll('#isolates tbody tr')].find(r => r.dataset.name === arguments[0]);
        return tr ? Number(tr.querySelector('.steps').textContent.replace(/,/g, '')) : null;""", name)


def local(driver, name):
    return js(driver, """
        const v = document.querySelector('.var[data-local="' + arguments[0] + '"] .v');
        return v ? v.textContent : null;""", name)


def status_badge(driver):
    return js(driver, "const b = document.querySelector('.detail-head .badge'); return b ? b.textContent : null;")


def status(platform, name):
    return platform.store.get_isolate(name).status


def isolate_hash(name):
    from urllib.parse import quote
    return "#/isolate/" + quote(name, safe="")


# -- live pages ----------------------------------------------------------------------------------------


def test_the_list_shows_a_running_counter(driver, engine):
    platform, w, ins, _ = engine
    w.spawn("my-counter", "counter", {})
    open_page(driver, ins, "#/")
    first = wait_for(driver, lambda: row_steps(driver, "my-counter"), "my-counter in the list")
    wait_for(driver, lambda: (row_steps(driver, "my-counter") or 0) >= first + 10, "its steps rising")
    assert not_reloaded(driver)
    text = js(driver, "return document.querySelector('#isolates tbody').textContent")
    assert "counter" in text and ("sleeping" in text or "running" in text)


def test_the_detail_shows_count_rising_without_a_reload(driver, engine):
    platform, w, ins, _ = engine
    w.spawn("my-counter", "counter", {})
    open_page(driver, ins, isolate_hash("my-counter"))
    first = int(wait_for(driver, lambda: local(driver, "count"), "count in the locals"))
    wait_for(driver, lambda: int(local(driver, "count") or 0) >= first + 10, "count rising")
    assert not_reloaded(driver)
    current = js(driver, "return document.querySelector('.frame .line.current .src').textContent")
    assert current.strip() in ("sleep(0.05)", "count = count + 1")


def test_what_the_user_expanded_stays_open_while_values_change(driver, engine):
    platform, w, ins, _ = engine
    w.spawn("books", "ledger", {})
    open_page(driver, ins, isolate_hash("books"))
    path = 'f0/ledger/book/"in"'
    inner = f'details[data-path=\'{path}\']'
    wait_for(driver, lambda: js(driver, f"return !!document.querySelector(`{inner}`)"), "the book's lists")
    assert js(driver, f"return document.querySelector(`{inner}`).open") is False     # nested: closed at first
    js(driver, f"document.querySelector(`{inner}`).querySelector('summary').click()")
    n = int(local(driver, "n"))
    wait_for(driver, lambda: int(local(driver, "n") or 0) >= n + 3, "n moving on")
    assert js(driver, f"return document.querySelector(`{inner}`).open") is True
    assert not_reloaded(driver)


def test_keeps_the_search_and_filters_while_it_refreshes(driver, engine):
    platform, w, ins, _ = engine
    w.spawn("my-counter", "counter", {})
    w.spawn("searchable-one", "slow_counter", {})
    open_page(driver, ins, "#/")
    wait_for(driver, lambda: row_steps(driver, "searchable-one") is not None, "the list")
    box = driver.find_element("css selector", ".toolbar input[type=search]")
    box.send_keys("searchable")
    wait_for(driver, lambda: js(driver, "return [...document.querySelectorAll('#isolates tbody tr')]"
                                        ".map(r => r.dataset.name).join()") == "searchable-one", "the search applied")
    time.sleep(2.5)         # two refreshes
    assert box.get_attribute("value") == "searchable" and js(driver, "return document.activeElement.type") == "search"
    assert "q=searchable" in driver.current_url
    driver.find_element("css selector", ".chip[data-status=sleeping], .chip[data-status=running]")
    js(driver, "document.querySelector('.chip[data-status=failed]').click()")
    wait_for(driver, lambda: "status=failed" in driver.current_url, "the status filter in the address")
    wait_for(driver, lambda: js(driver, "return document.querySelector('#isolates td.empty') !== null"),
             "an empty list: no failed isolate is named 'searchable'")
    assert not_reloaded(driver)


# -- actions ---------------------------------------------------------------------------------------------


def test_cancel_from_the_page(driver, engine):
    platform, w, ins, _ = engine
    w.spawn("to-cancel", "slow_counter", {})
    open_page(driver, ins, isolate_hash("to-cancel"))
    button = driver.find_element("id", "cancel")
    wait_for(driver, lambda: button.is_enabled(), "cancel enabled")
    button.click()
    assert button.text == "Confirm cancel" and status(platform, "to-cancel") != "cancelled"
    button.click()
    wait_for(driver, lambda: status_badge(driver) == "cancelled", "the page showing it cancelled")
    assert status(platform, "to-cancel") == "cancelled"
    wait_for(driver, lambda: not button.is_enabled(), "cancel disabled once it has ended")


def test_a_failed_isolate_shows_its_error_and_source_line(driver, engine):
    platform, w, ins, tmp = engine
    w.spawn("pay-1", "payment", {"flag": str(tmp / "pay-1.fixed"), "cents": 250})
    open_page(driver, ins, isolate_hash("pay-1"))
    wait_for(driver, lambda: status_badge(driver) == "failed", "failed")
    msg = driver.find_element("css selector", "#error .error-msg").text
    assert "RuntimeError: payment provider is down" in msg
    line = driver.find_element("css selector", "#error .line.faulty .src").text
    assert "receipt: str = charge(flag)" in line
    caret = driver.find_element("css selector", "#error .caret").text
    assert caret.strip() == "^"
    assert "charging 250 cents" in driver.find_element("id", "log").text


def test_retry_from_the_page_resumes_it(driver, engine):
    platform, w, ins, tmp = engine
    flag = tmp / "pay-2.fixed"
    w.spawn("pay-2", "payment", {"flag": str(flag), "cents": 100})
    open_page(driver, ins, isolate_hash("pay-2"))
    button = driver.find_element("id", "retry")
    wait_for(driver, lambda: status_badge(driver) == "failed" and button.is_enabled(), "retry offered")
    flag.touch()          # the cause is fixed
    button.click()
    wait_for(driver, lambda: status_badge(driver) == "done", "done after the retry")
    assert "paid ann" in driver.find_element("id", "result").text
    assert status(platform, "pay-2") == "done" and calls(str(flag)) == 2


def test_a_double_click_on_retry_retries_once(driver, engine):
    from selenium.webdriver.common.action_chains import ActionChains
    platform, w, ins, tmp = engine
    flag = str(tmp / "pay-3.never")
    w.spawn("pay-3", "payment", {"flag": flag, "cents": 100})
    open_page(driver, ins, isolate_hash("pay-3"))
    button = driver.find_element("id", "retry")
    wait_for(driver, lambda: status_badge(driver) == "failed" and button.is_enabled(), "retry offered")
    assert calls(flag) == 1
    failed_at = platform.store.get_isolate("pay-3").updated_at
    ActionChains(driver).double_click(button).perform()
    wait_for(driver, lambda: calls(flag) >= 2 and status(platform, "pay-3") == "failed"
             and platform.store.get_isolate("pay-3").updated_at != failed_at, "one retry that failed again")
    time.sleep(1.0)         # a second retry would have run by now
    assert calls(flag) == 2


def test_send_a_message_from_the_page(driver, engine):
    platform, w, ins, _ = engine
    w.spawn("ask-bo", "approval", {"who": "bo"})
    open_page(driver, ins, isolate_hash("ask-bo"))
    wait_for(driver, lambda: "an HTTP message" in driver.find_element("id", "overview").text, "the wait shown")
    driver.find_element("id", "send-toggle").click()
    route = driver.find_element("id", "send-route")
    assert route.get_attribute("value") == "/approve"        # what the flow listens on
    driver.find_element("id", "send-body").send_keys("approved by <b>bo</b>")
    driver.find_element("id", "send-go").click()
    wait_for(driver, lambda: status_badge(driver) == "done", "done once the message was taken")
    assert w.wait("ask-bo", timeout=5) == "approved by <b>bo</b>"
    assert "approved by <b>bo</b>" in driver.find_element("id", "result").text


# -- markup is text ----------------------------------------------------------------------------------------

MARKUP = '<img src=x onerror="window.__y=1"><script>window.__z=1</script>'
NAME = "<img src=x onerror=window.__x=1>"          # a spawned name holds no '/'
STORED_NAME = "<script>window.__x=1</script>"      # a name in a store, whoever wrote it


def _no_markup_ran(driver):
    assert js(driver, "return [window.__x, window.__y, window.__z]") == [None, None, None]
    assert js(driver, "return document.querySelectorAll('#app img, #app script, #app b').length") == 0


def test_names_and_locals_that_hold_markup_render_as_text(driver, engine):
    platform, w, ins, _ = engine
    w.spawn(NAME, "marked", {"text": MARKUP})
    open_page(driver, ins, "#/")
    wait_for(driver, lambda: js(driver, "return [...document.querySelectorAll('#isolates td.name a')]"
                                        ".some(a => a.textContent === arguments[0])", NAME), "the name as text")
    _no_markup_ran(driver)
    open_page(driver, ins, isolate_hash(NAME))
    wait_for(driver, lambda: local(driver, "shown"), "the locals")
    assert driver.find_element("id", "isolate-name").text == NAME
    assert local(driver, "shown") == '"' + MARKUP.replace('"', '\\"') + '"'
    assert "<b>bold</b>" in local(driver, "tags")
    assert 'tags: list[str] = [text, "<b>bold</b>"]' in driver.find_element("css selector", ".frame .code").text
    _no_markup_ran(driver)


def test_a_stored_name_with_a_script_tag_renders_as_text(driver, tmp_path):
    path = str(tmp_path / "xss.db")
    store = SQLiteStore(path)
    epoch = store.claim("writer")
    program = marked.program
    vm = _vm.VM(program, program.entry, (MARKUP,))
    vm.run()
    snap = _vm.encode_snapshot(program.hash, vm.export_state())
    row = IsolateRow(1, STORED_NAME, "marked", program.hash, root_id=1, snapshot=snap)
    store.commit_batch("writer", epoch, [Commit(1, "sleeping", snap, 1, wake_at=time.time() + 3600,
                                                waiting_on="sleep", create=row, log=[MARKUP], log_seq=1,
                                                ops=[ProgramPut(program.hash, serial.program_to_bytes(program))])])
    store.close()
    ins = Inspector(SQLiteStore(path, readonly=True), StoreRequestActions(path), lambda: None, "127.0.0.1:0")
    try:
        open_page(driver, ins, "#/")
        wait_for(driver, lambda: js(driver, "return [...document.querySelectorAll('#isolates td.name a')]"
                                            ".some(a => a.textContent === arguments[0])", STORED_NAME), "the name")
        _no_markup_ran(driver)
        open_page(driver, ins, isolate_hash(STORED_NAME))
        wait_for(driver, lambda: local(driver, "shown"), "the locals")
        assert driver.find_element("id", "isolate-name").text == STORED_NAME
        assert driver.find_element("id", "log").text.endswith(MARKUP)
        _no_markup_ran(driver)
    finally:
        ins.stop()


def test_the_token_is_taken_once_and_kept_in_a_cookie(driver, engine):
    platform, w, _, _ = engine
    w.spawn("my-counter", "counter", {})
    guarded = spawn_inspector(platform, "127.0.0.1:0", token="open sesame")
    try:
        driver.get(guarded.url + "/")
        assert "asks for its token" in driver.find_element("tag name", "body").text
        driver.get(guarded.url + "/?token=open%20sesame")
        assert driver.current_url == guarded.url + "/"
        wait_for(driver, lambda: row_steps(driver, "my-counter"), "the list behind the token")
        assert js(driver, "return document.cookie") == ""       # HttpOnly: no script reads it
    finally:
        guarded.stop()


# -- the screenshots of the README -----------------------------------------------------------------------


@pytest.fixture
def scene(tmp_path):
    """An engine and inspector of its own: the screenshots show only their scene."""
    platform, _ = new_sqlite(str(tmp_path / "scene.db"), "127.0.0.1:0")
    w = spawn_workers(4, platform, FLOWS)
    ins = spawn_inspector(platform, "127.0.0.1:0")
    yield platform, w, ins, tmp_path
    w.stop()


def test_the_screenshot_scenes(driver, scene):
    """The list and an expense waiting for approval; with DEEPSLATE_SCREENSHOTS=1 written to docs/."""
    platform, w, ins, tmp = scene
    for i in range(3):
        w.spawn(f"counter-{i + 1}", "slow_counter", {})
    for n, (who, cents) in enumerate([("ann", 12900), ("bo", 4350), ("chen", 89000)]):
        w.spawn(f"expense-{1041 + n}", "expense", {"who": who, "cents": cents})
    w.send("expense-1041", "POST", "/approve", b"approved")
    w.send("expense-1042", "POST", "/comment", b'{"note": "receipt attached"}')
    w.spawn("order-7", "payment", {"flag": str(tmp / "order-7.never"), "cents": 1999})
    w.spawn("nightly-report", "boss", {"n": 2})
    if SCREENSHOTS:         # some history for the charts: imports that come and go
        for k in range(55):
            w.spawn(f"import-{k + 1:03d}", "batch", {"n": 60 + (k * 37) % 150})
            if k % 7 == 6:
                w.cancel(f"import-{k:03d}")
            time.sleep(1.0)
    open_page(driver, ins, "#/")
    wait_for(driver, lambda: row_steps(driver, "counter-1") is not None, "the counters listed")
    wait_for(driver, lambda: js(driver, "return document.querySelectorAll('.chart path.series').length") >= 2,
             "the charts drawn")
    if SCREENSHOTS:
        driver.set_window_size(1360, 1240)
        time.sleep(1.5)
        driver.save_screenshot(str(ROOT / "docs" / "inspector-list.png"))
    open_page(driver, ins, isolate_hash("expense-1042"))
    wait_for(driver, lambda: local(driver, "claim"), "the claim")
    overview = driver.find_element("id", "overview").text
    assert "an HTTP message" in overview and "POST /approve" in overview and "deadline in 23 h 59 min" in overview
    assert "asked the manager to approve" in driver.find_element("id", "log").text
    assert "POST /comment" in driver.find_element("id", "inbox").text
    js(driver, "for (const d of document.querySelectorAll('.var[data-local=claim] details')) d.open = true")
    if SCREENSHOTS:
        time.sleep(0.5)
        driver.save_screenshot(str(ROOT / "docs" / "inspector-detail.png"))
        driver.set_window_size(1360, 900)
