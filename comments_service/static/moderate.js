// Hubbub moderation: the same forms as without JavaScript, sent with fetch (no reload),
// plus keyboard shortcuts. Without this file every button still works as a plain form.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var list = document.getElementById("comments");
  var flashes = document.getElementById("flashes");
  var current = null;
  var lastCounts = null;
  // Words in the site's language, from the page (<body data-strings>); the English text is the key.
  var strings = {};
  try { strings = JSON.parse(document.body.dataset.strings || "{}") || {}; } catch (err) { strings = {}; }
  function t(text, values) {
    return (strings[text] || text).replace(/%\((\w+)\)s/g, function (m, name) {
      return values && name in values ? String(values[name]) : m;
    });
  }

  function cards() {
    return list ? Array.prototype.slice.call(list.querySelectorAll(".comment")) : [];
  }

  function say(text, isError) {
    if (!flashes) return;
    var p = document.createElement("p");
    p.className = "flash" + (isError ? " flash-error" : "");
    p.textContent = text;
    flashes.replaceChildren(p);
    window.clearTimeout(say.timer);
    say.timer = window.setTimeout(function () { p.remove(); }, isError ? 8000 : 4000);
  }

  function setCounts(counts) {
    if (!counts) return;
    lastCounts = counts;
    Object.keys(counts).forEach(function (status) {
      document.querySelectorAll('[data-count="' + status + '"]').forEach(function (el) {
        el.textContent = counts[status];
      });
      document.querySelectorAll(".tab-" + status).forEach(function (tab) {
        tab.classList.toggle("zero", !counts[status]);
      });
    });
  }

  function showCleared() {
    var cleared = document.getElementById("cleared");
    if (!cleared) return;
    // Everything done, or only this page (more wait on the next one)?
    var tab = list ? list.dataset.status : "";
    var searching = new URLSearchParams(window.location.search).get("q");
    var nothingLeft = !searching && lastCounts && lastCounts[tab] === 0;
    cleared.querySelector(".cleared-all").hidden = !nothingLeft;
    cleared.querySelector(".cleared-page").hidden = nothingLeft;
    cleared.hidden = false;
  }

  function focusCard(card) {
    if (current) current.classList.remove("current");
    current = card || null;
    if (!current) return;
    current.classList.add("current");
    current.focus({ preventScroll: true });
    current.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function removeCard(card) {
    var all = cards();
    var next = all[all.indexOf(card) + 1] || all[all.indexOf(card) - 1];
    card.classList.add("leaving");
    window.setTimeout(function () {
      card.remove();
      if (!cards().length) showCleared();
    }, 200);
    if (card === current) focusCard(next && next !== card ? next : null);
  }

  function applyResults(data) {
    var single = list && list.classList.contains("single");
    var tab = list ? list.dataset.status : "";
    (data.results || []).forEach(function (r) {
      var card = document.getElementById("c-" + r.id);
      if (!card) return;
      if (single) return;
      if (r.status === "deleted" || (tab !== "all" && r.status !== tab)) {
        removeCard(card);
      } else {
        card.classList.remove("busy");
      }
    });
    setCounts(data.counts);
    if (single) {
      var gone = (data.results || []).some(function (r) { return r.status === "deleted"; });
      window.location.href = gone ? "/moderate/" : window.location.href;
    }
  }

  function send(url, body, busyCards) {
    busyCards.forEach(function (c) { c.classList.add("busy"); });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "fetch", "X-CSRFToken": csrf }
    }).then(function (response) {
      if (response.status === 401) {
        window.location.href = "/moderate/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
        return null;
      }
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || t("The server answered %(status)s", { status: response.status }));
        return data;
      });
    }).then(function (data) {
      if (!data) return;
      applyResults(data);
      say(data.message || t("Done."));
    }).catch(function (err) {
      busyCards.forEach(function (c) { c.classList.remove("busy"); });
      say(err.message + " " + t("Nothing was changed; try again."), true);
    });
  }

  function confirmDelete(n) {
    return window.confirm(n === 1 ? t("Delete this comment for good?") : t("Delete %(num)s comments for good?", { num: n }));
  }

  // One comment's buttons (they submit #act-form through their formaction).
  var actForm = document.getElementById("act-form");
  if (actForm) {
    actForm.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.formAction) return;
      event.preventDefault();
      if (button.dataset.action === "delete" && !confirmDelete(1)) return;
      var card = button.closest(".comment");
      send(button.formAction, new FormData(actForm), card ? [card] : []);
    });
  }

  // Bulk actions on the selected comments.
  var bulk = document.getElementById("bulk");
  if (bulk) {
    bulk.addEventListener("submit", function (event) {
      var button = event.submitter;
      event.preventDefault();
      var data = new FormData(bulk);
      if (button && button.name) data.set(button.name, button.value);
      var ids = data.getAll("ids");
      if (!ids.length) { say(t("Select some comments first (x, or the boxes)."), true); return; }
      if (data.get("action") === "delete" && !confirmDelete(ids.length)) return;
      var busy = ids.map(function (id) { return document.getElementById("c-" + id); }).filter(Boolean);
      send(bulk.getAttribute("action"), data, busy).then(function () {
        var all = document.getElementById("select-all");
        if (all) all.checked = false;
      });
    });
  }

  var selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      cards().forEach(function (card) {
        var box = card.querySelector('input[name="ids"]');
        if (box) { box.checked = selectAll.checked; card.classList.toggle("selected", box.checked); }
      });
    });
  }
  if (list) {
    list.addEventListener("change", function (event) {
      if (event.target.name === "ids") event.target.closest(".comment").classList.toggle("selected", event.target.checked);
    });
    list.addEventListener("click", function (event) {
      var card = event.target.closest(".comment");
      if (card && card !== current && !event.target.closest("a, button, input")) focusCard(card);
    });
  }

  // Keyboard shortcuts -----------------------------------------------------------------------------
  var keys = { a: "approve", r: "reject", s: "spam", h: "ham", d: "delete", e: "edit" };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var all = cards();
    var index = current ? all.indexOf(current) : -1;
    if (event.key === "/") {
      var search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (event.key === "j" || event.key === "k") {
      if (!all.length) return;
      event.preventDefault();
      var step = event.key === "j" ? 1 : -1;
      focusCard(all[Math.min(all.length - 1, Math.max(0, index + step))] || all[0]);
      return;
    }
    if (!all.length) return;
    if (!current) focusCard(all[0]);
    if (event.key === "x") {
      var box = current.querySelector('input[name="ids"]');
      if (box) { box.checked = !box.checked; current.classList.toggle("selected", box.checked); }
      event.preventDefault();
      return;
    }
    var action = keys[event.key];
    if (!action) return;
    var control = current.querySelector('[data-action="' + action + '"]');
    if (!control) return;
    event.preventDefault();
    control.click();
  });
})();
