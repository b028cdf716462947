"""What a person sees in the browser, checked the same way by every browser test.

The server's reply can be right while the screen is wrong (a full page swapped into a table, a script refused by
the CSP). So every page a test opens is watched from inside the browser: a script installed before any page script
records console errors, CSP violations (`securitypolicyviolation`) and, after every load or htmx swap, any
moment where the document holds more than one page layout (one top bar, one main nav, one <main>, one footer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import ConsoleMessage, Page

# A form refused with its errors is answered 422 and shown in the page (the htmx config swaps 422): not a fault.
# Chromium still logs every 4xx as "Failed to load resource", so only that status is let through.
_EXPECTED = ("the server responded with a status of 422",)

# Runs in every document before its own scripts; reports through console.error so one listener sees all.
_WATCH_SCRIPT = """
(() => {
  const LAYOUT = {"header.topbar": 1, "nav.mainnav": 1, "main": 1, "footer.footer": 1};
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline code"}`);
  });
  const check = () => {
    for (const [selector, most] of Object.entries(LAYOUT)) {
      const n = document.querySelectorAll(selector).length;
      if (n > most) console.error(`Layout: ${n} × ${selector} on ${location.pathname} (a page inside a page)`);
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    check();
    new MutationObserver(check).observe(document.body, {childList: true, subtree: true});
  });
})();
"""


@dataclass
class BrowserProblems:
    """Everything wrong a person would notice (or a developer would see in the console) on the watched page."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.page_errors, *self.console_errors]

    def forget(self, fragment: str) -> None:
        """Drop expected errors (a test that provokes a 403 on purpose), by a piece of their text."""
        self.console_errors = [e for e in self.console_errors if fragment not in e]


def watch_page(page: Page) -> BrowserProblems:
    """Start recording console errors, uncaught exceptions, CSP violations and doubled layouts on `page`."""
    problems = BrowserProblems()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(text in message.text for text in _EXPECTED):
            problems.console_errors.append(message.text)

    page.add_init_script(_WATCH_SCRIPT)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    return problems


def assert_one_layout(page: Page) -> None:
    """Exactly one page on screen: one top bar, one nav, one <main>, one footer (call after a navigation)."""
    page.wait_for_load_state("load")
    counts = {
        selector: page.locator(selector).count() for selector in ("header.topbar", "main", "footer.footer")
    }
    assert counts == {"header.topbar": 1, "main": 1, "footer.footer": 1}, f"{page.url}: {counts}"
    assert page.locator("nav.mainnav").count() <= 1, f"{page.url}: two main navs"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot when SCREENSHOT_DIR is set (to look at the screens, not to compare pixels)."""
    import os

    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        size = page.viewport_size or {"width": 0}
        page.screenshot(path=f"{folder}/{name}-{size['width']}.png", full_page=True)
