// errdocs serve: reloads the page when the site is rebuilt, swaps the
// stylesheet when only CSS changed, and shows build errors over the page.
(function () {
  "use strict";
  var version = null;
  var overlay = null;
  var SCROLL_KEY = "errdocs-serve-scroll";

  try {
    var saved = JSON.parse(sessionStorage.getItem(SCROLL_KEY) || "null");
    sessionStorage.removeItem(SCROLL_KEY);
    if (saved && saved.path === location.pathname) {
      window.addEventListener("load", function () { window.scrollTo(0, saved.y); });
    }
  } catch (e) { /* storage may be disabled */ }

  function hideOverlay() {
    if (overlay) { overlay.remove(); overlay = null; }
  }

  function showOverlay(errors) {
    hideOverlay();
    overlay = document.createElement("div");
    overlay.id = "errdocs-overlay";
    overlay.setAttribute("role", "alertdialog");
    overlay.setAttribute("aria-label", "Build failed");
    var s = overlay.style;
    s.position = "fixed"; s.inset = "0"; s.zIndex = "2147483647"; s.overflow = "auto";
    s.background = "rgba(16, 18, 24, 0.94)"; s.color = "#f5f5f5"; s.padding = "2rem";
    s.font = "14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
    var title = document.createElement("h2");
    title.textContent = "Build failed: the last good version is still served";
    title.style.color = "#ff8a8a"; title.style.font = "600 18px system-ui, sans-serif";
    overlay.appendChild(title);
    errors.forEach(function (e) {
      var item = document.createElement("pre");
      item.className = "errdocs-overlay-error";
      item.style.whiteSpace = "pre-wrap"; item.style.margin = "1rem 0";
      var where = e.file ? e.file + ":" + e.line + ":" + e.column + ": " : "";
      item.textContent = where + e.message;
      overlay.appendChild(item);
    });
    document.body.appendChild(overlay);
  }

  function swapCss(url) {
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    Array.prototype.forEach.call(links, function (link) {
      if (/\/assets\/errdocs\.[^/]*\.css$/.test(link.getAttribute("href") || "")) {
        link.setAttribute("href", url);
      }
    });
  }

  // Hidden tabs do not poll: they ask once when shown again.
  var polling = false;
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !polling) poll();
  });

  function poll() {
    if (document.visibilityState === "hidden") { polling = false; return; }
    polling = true;
    var seen = version === null ? "" : String(version);
    fetch("/__errdocs/poll?v=" + seen, { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (status) {
        var first = version === null;
        var changed = !first && status.version !== version;
        version = status.version;
        if (!status.ok) {
          if (first || changed) showOverlay(status.errors);
        } else if (changed) {
          if (status.reload === "css" && status.css && !overlay) {
            swapCss(status.css);
          } else {
            try { sessionStorage.setItem(SCROLL_KEY, JSON.stringify({ path: location.pathname, y: window.scrollY })); } catch (e) { /* ignore */ }
            location.reload();
            return;
          }
        }
        // The server answers at once when enough pages already wait.
        if (status.held === false && !changed) setTimeout(poll, 2000);
        else poll();
      })
      .catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
