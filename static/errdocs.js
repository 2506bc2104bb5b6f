// errdocs reader-side behaviour. Every page works without this script;
// it adds search, filters, tabs, the audience filter, copy buttons and
// the theme toggle.
(function () {
  "use strict";
  var root = document.documentElement;
  var body = document.body;
  root.classList.add("js");

  function store(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key);
      if (value === null) window.localStorage.removeItem(key);
      else window.localStorage.setItem(key, value);
    } catch (e) { /* storage may be disabled */ }
    return null;
  }
  function $all(sel, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(sel)); }
  function unhide(el) { if (el) el.hidden = false; }

  // Theme: follow the system until the reader chooses.
  var THEMES = ["system", "light", "dark"];
  function applyTheme(t) {
    if (t === "light" || t === "dark") root.setAttribute("data-theme", t);
    else root.removeAttribute("data-theme");
    $all(".theme-toggle").forEach(function (b) {
      var label = b.querySelector(".theme-toggle-label");
      if (label) label.textContent = "Theme: " + t;
      b.setAttribute("aria-label", "Colour theme: " + t + ". Change theme");
    });
  }
  var theme = store("errdocs-theme") || "system";
  applyTheme(theme);
  $all(".theme-toggle").forEach(function (b) {
    unhide(b);
    b.addEventListener("click", function () {
      theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
      store("errdocs-theme", theme === "system" ? null : theme);
      applyTheme(theme);
    });
  });

  // Navigation toggle on narrow screens.
  var navToggle = document.querySelector(".nav-toggle");
  var nav = document.getElementById("site-nav");
  if (navToggle && nav) {
    unhide(navToggle);
    navToggle.addEventListener("click", function () {
      var open = navToggle.getAttribute("aria-expanded") !== "true";
      navToggle.setAttribute("aria-expanded", String(open));
      if (open) nav.setAttribute("data-open", ""); else nav.removeAttribute("data-open");
    });
  }

  // Copy buttons, with visible and announced feedback.
  var live = document.createElement("div");
  live.className = "visually-hidden";
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  body.appendChild(live);
  function copyText(text, button) {
    var done = function () {
      var old = button.textContent;
      button.textContent = "Copied";
      button.setAttribute("data-copied", "");
      live.textContent = "Copied to clipboard";
      setTimeout(function () { button.textContent = old; button.removeAttribute("data-copied"); live.textContent = ""; }, 1600);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { live.textContent = "Copy failed"; });
    }
  }
  $all(".copy-button").forEach(function (b) {
    unhide(b);
    b.addEventListener("click", function () {
      var text = b.getAttribute("data-copy-text");
      if (text === null) {
        var fig = b.closest(".code-block");
        var code = fig && fig.querySelector("pre code");
        text = code ? code.textContent : "";
      }
      copyText(text, b);
    });
  });

  // Line wrapping of code blocks: off by default (blocks scroll), remembered.
  var WRAP_KEY = "errdocs-wrap";
  var applyWrap = function (on) {
    $all(".code-block").forEach(function (fig) {
      if (on) fig.setAttribute("data-wrap", ""); else fig.removeAttribute("data-wrap");
    });
    $all(".wrap-button").forEach(function (b) { b.setAttribute("aria-pressed", String(on)); });
  };
  $all(".wrap-button").forEach(function (b) {
    unhide(b);
    b.addEventListener("click", function () {
      var on = b.getAttribute("aria-pressed") !== "true";
      store(WRAP_KEY, on ? "1" : null);
      applyWrap(on);
    });
  });
  applyWrap(store(WRAP_KEY) === "1");

  // Language tabs (ARIA tabs pattern); the choice is remembered everywhere.
  var LANG_KEY = "errdocs-lang";
  function selectTab(group, tab, remember) {
    var tabs = $all('[role="tab"]', group);
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    if (remember) {
      var lang = tab.getAttribute("data-lang");
      store(LANG_KEY, lang);
      $all("[data-code-group]").forEach(function (g) {
        if (g === group) return;
        var match = g.querySelector('[role="tab"][data-lang="' + lang + '"]');
        if (match) selectTab(g, match, false);
      });
    }
  }
  var savedLang = store(LANG_KEY);
  $all("[data-code-group]").forEach(function (group) {
    var list = group.querySelector('[role="tablist"]');
    if (!list) return;
    unhide(list);
    group.setAttribute("data-tabbed", "");
    var tabs = $all('[role="tab"]', group);
    var initial = (savedLang && group.querySelector('[role="tab"][data-lang="' + savedLang + '"]')) || tabs[0];
    selectTab(group, initial, false);
    tabs.forEach(function (t, i) {
      t.addEventListener("click", function () { selectTab(group, t, true); });
      t.addEventListener("keydown", function (e) {
        var next = null;
        if (e.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
        else if (e.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
        else if (e.key === "Home") next = tabs[0];
        else if (e.key === "End") next = tabs[tabs.length - 1];
        if (next) { e.preventDefault(); next.focus(); selectTab(group, next, true); }
      });
    });
  });

  // Audience filter on code pages; remembered across pages.
  var AUD_KEY = "errdocs-audience";
  var filter = document.querySelector(".audience-filter");
  if (filter) {
    unhide(filter);
    var buttons = $all("[data-audience-choice]", filter);
    var applyAudience = function (choice) {
      if (!filter.querySelector('[data-audience-choice="' + choice + '"]')) choice = "all";
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-audience-choice") === choice)); });
      $all(".audience-card").forEach(function (card) {
        card.hidden = choice !== "all" && card.getAttribute("data-audience") !== choice;
      });
    };
    applyAudience(store(AUD_KEY) || "all");
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        var choice = b.getAttribute("data-audience-choice");
        store(AUD_KEY, choice === "all" ? null : choice);
        applyAudience(choice);
      });
    });
  }

  // Catalog filters; the query string holds them so views can be shared.
  var filters = document.querySelector(".catalog-filters");
  if (filters) {
    unhide(filters);
    var q = filters.querySelector("#filter-text");
    var st = filters.querySelector("#filter-status");
    var cat = filters.querySelector("#filter-category");
    var count = filters.querySelector(".filter-count");
    var empty = document.querySelector(".catalog-empty");
    var rows = $all(".catalog-row");
    var params = new URLSearchParams(window.location.search);
    q.value = params.get("q") || "";
    st.value = params.get("status") || "";
    cat.value = params.get("category") || "";
    var run = function (push) {
      var text = q.value.trim().toLowerCase();
      var status = st.value;
      var category = cat.value;
      var shown = 0;
      rows.forEach(function (r) {
        var s = r.getAttribute("data-status");
        var ok = (!text || r.getAttribute("data-search").toLowerCase().indexOf(text) !== -1) &&
          (!status || (/xx$/.test(status) ? s.charAt(0) === status.charAt(0) : s === status)) &&
          (!category || r.getAttribute("data-category") === category);
        r.hidden = !ok;
        if (ok) shown++;
      });
      $all(".catalog-group").forEach(function (g) {
        var n = $all(".catalog-row:not([hidden])", g).length;
        g.hidden = n === 0;
        var c = g.querySelector(".group-count");
        if (c) c.textContent = String(n);
      });
      count.textContent = shown + " of " + rows.length + " codes";
      if (empty) empty.hidden = shown !== 0;
      if (push) {
        var p = new URLSearchParams();
        if (q.value.trim()) p.set("q", q.value.trim());
        if (status) p.set("status", status);
        if (category) p.set("category", category);
        var qs = p.toString();
        window.history.replaceState(null, "", window.location.pathname + (qs ? "?" + qs : "") + window.location.hash);
      }
    };
    [q, st, cat].forEach(function (el) { el.addEventListener("input", function () { run(true); }); });
    filters.addEventListener("submit", function (e) { e.preventDefault(); });
    run(false);
  }

  // Search from every page over the catalog's index.json, loaded on first use.
  var input = document.getElementById("site-search");
  if (input) {
    var form = input.form;
    var index = null;
    var loading = null;
    var results = document.createElement("ul");
    results.className = "search-results";
    results.id = "search-results";
    results.setAttribute("role", "listbox");
    results.setAttribute("aria-label", "Search results");
    results.hidden = true;
    form.appendChild(results);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-controls", "search-results");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-autocomplete", "list");
    var active = -1;
    var items = [];
    var load = function () {
      if (!loading) {
        loading = fetch(body.getAttribute("data-catalog-json"))
          .then(function (r) { return r.json(); })
          .then(function (d) { index = d.errors || []; return index; })
          .catch(function () { index = []; return index; });
      }
      return loading;
    };
    var rank = function (e, query) {
      var code = e.code.toLowerCase();
      if (code === query) return 0;
      var aliases = (e.aliases || []).map(function (a) { return a.toLowerCase(); });
      if (aliases.indexOf(query) !== -1) return 1;
      if (code.indexOf(query) === 0) return 2;
      if (aliases.some(function (a) { return a.indexOf(query) === 0; })) return 3;
      if (code.indexOf(query) !== -1) return 4;
      var words = query.split(/\s+/);
      var hay = (e.title + " " + e.summary + " " + e.category).toLowerCase();
      if (words.every(function (w) { return hay.indexOf(w) !== -1; })) {
        return e.title.toLowerCase().indexOf(words[0]) !== -1 ? 5 : 6;
      }
      return -1;
    };
    var setActive = function (i) {
      active = i;
      items.forEach(function (li, n) { li.setAttribute("aria-selected", String(n === i)); });
      if (i >= 0 && items[i]) { input.setAttribute("aria-activedescendant", items[i].id); items[i].scrollIntoView({ block: "nearest" }); }
      else input.removeAttribute("aria-activedescendant");
    };
    var close = function () { results.hidden = true; input.setAttribute("aria-expanded", "false"); setActive(-1); };
    var render = function () {
      var query = input.value.trim().toLowerCase();
      results.textContent = "";
      items = [];
      if (!query) { close(); return; }
      var found = (index || []).map(function (e) { return { e: e, r: rank(e, query) }; })
        .filter(function (x) { return x.r >= 0; })
        .sort(function (a, b) { return a.r - b.r || (a.e.code < b.e.code ? -1 : 1); })
        .slice(0, 12);
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "search-empty";
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.textContent = "No error code matches “" + input.value.trim() + "”";
        results.appendChild(none);
      }
      found.forEach(function (x, n) {
        var li = document.createElement("li");
        li.id = "search-result-" + n;
        li.setAttribute("role", "option");
        li.setAttribute("data-url", new URL(x.e.url).pathname);
        var code = document.createElement("code");
        code.textContent = x.e.code;
        var status = document.createElement("span");
        status.className = "status status-" + Math.floor(x.e.status / 100) + "xx";
        status.textContent = String(x.e.status);
        var title = document.createElement("span");
        title.className = "search-title";
        title.textContent = x.e.title;
        li.appendChild(code); li.appendChild(status); li.appendChild(title);
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); window.location.href = li.getAttribute("data-url"); });
        results.appendChild(li);
        items.push(li);
      });
      results.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(items.length ? 0 : -1);
    };
    input.addEventListener("focus", load);
    input.addEventListener("input", function () { load().then(render); });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && items.length) { e.preventDefault(); setActive((active + 1) % items.length); }
      else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); setActive((active - 1 + items.length) % items.length); }
      else if (e.key === "Enter" && active >= 0 && items[active]) { e.preventDefault(); window.location.href = items[active].getAttribute("data-url"); }
      else if (e.key === "Escape") { close(); }
    });
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); input.focus(); }
    });
  }
})();
