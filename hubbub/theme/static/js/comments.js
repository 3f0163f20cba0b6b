// Progressive enhancement of the reply form; the page works without it.
// Submits as JSON without leaving the page, shows field errors inline, shows the writer their
// pending comment, fills `parent` from Reply links, previews Markdown, and remembers name, email
// and website only when the reader ticks "Save my name...". Keeps the edit token of each comment
// sent from this browser and offers Edit and Delete on it until its edit window closes. Closes
// the form when the thread's closing time passes before the next build. Its words come from the
// page (the form's data-strings, JSON in the site's language); the English text is the key, and
// the fallback. No framework, nothing from a CDN.
(function () {
  "use strict";

  const form = document.querySelector("form.comment-form");
  if (!form || !window.fetch || !window.JSON) return;

  const thread = form.dataset.thread || "";
  const SAVED_KEY = "hubbub:commenter";
  const PENDING_KEY = "hubbub:pending:" + thread;
  const EDIT_KEY = "hubbub:edit:" + thread;
  const MAX_TIMER = 2147483647; // setTimeout's longest delay
  const PENDING_MAX_AGE = 24 * 3600 * 1000;
  const field = (name) => form.elements.namedItem(name);
  const status = form.querySelector(".form-status");
  const replying = form.querySelector(".replying-to");
  const preview = document.getElementById("comment-preview");
  const previewButton = form.querySelector(".preview-toggle");
  const submitButton = form.querySelector('button[type="submit"]');
  const saveBox = form.querySelector(".save-info");
  const saveInput = document.getElementById("comment-save");
  const strings = (() => {
    try {
      return JSON.parse(form.dataset.strings || "{}") || {};
    } catch (err) {
      return {};
    }
  })();
  // The page's translation of `text`, with %(name)s filled from `values`.
  const t = (text, values) => (strings[text] || text).replace(/%\((\w+)\)s/g, (m, name) =>
    values && name in values ? String(values[name]) : m);

  function usableStorage(kind) {
    try {
      const store = window[kind];
      store.setItem("hubbub:probe", "1");
      store.removeItem("hubbub:probe");
      return store;
    } catch (err) {
      return null; // disabled, full, or blocked by privacy settings
    }
  }
  const local = usableStorage("localStorage");

  function readJSON(store, key, fallback) {
    if (!store) return fallback;
    try {
      const value = JSON.parse(store.getItem(key));
      return value === null ? fallback : value;
    } catch (err) {
      return fallback;
    }
  }

  // ---- A small, safe Markdown subset for the preview -------------------------------------
  // Everything is escaped first; only our own tags are added afterwards, and links must be http(s).

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  function inline(text) {
    const codes = [];
    text = text.replace(/`([^`\n]+)`/g, (m, code) => "\u0000" + (codes.push(code) - 1) + "\u0000");
    text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s()]+)\)/g, '<a href="$2" rel="nofollow ugc noopener">$1</a>');
    text = text.replace(/\*\*([^*\n]+)\*\*|__([^_\n]+)__/g, (m, a, b) => "<strong>" + (a || b) + "</strong>");
    text = text.replace(/\*([^*\n]+)\*|\b_([^_\n]+)_\b/g, (m, a, b) => "<em>" + (a || b) + "</em>");
    return text.replace(/\u0000(\d+)\u0000/g, (m, i) => "<code>" + codes[Number(i)] + "</code>");
  }

  function block(chunk) {
    const lines = chunk.split("\n");
    if (lines.every((l) => /^( {4}|\t)/.test(l))) {
      return "<pre><code>" + lines.map((l) => l.replace(/^( {4}|\t)/, "")).join("\n") + "</code></pre>";
    }
    if (lines.every((l) => /^&gt; ?/.test(l))) {
      return "<blockquote>" + markdown(lines.map((l) => l.replace(/^&gt; ?/, "")).join("\n"), true) + "</blockquote>";
    }
    if (lines.every((l) => /^[-*+] /.test(l))) {
      return "<ul>" + lines.map((l) => "<li>" + inline(l.slice(2)) + "</li>").join("") + "</ul>";
    }
    if (lines.every((l) => /^\d+[.)] /.test(l))) {
      return "<ol>" + lines.map((l) => "<li>" + inline(l.replace(/^\d+[.)] /, "")) + "</li>").join("") + "</ol>";
    }
    return "<p>" + inline(chunk) + "</p>";
  }

  function markdown(source, escaped) {
    let text = source.replace(/\r\n?/g, "\n").trim();
    if (!escaped) text = escapeHtml(text);
    // A heading ("# Title", or "Title" over a line of = or -) is published as its text alone
    // (comments allow no headings): a block of its own.
    text = text.replace(/^#{1,6}[ \t]*(.*?)[ \t#]*$/gm, "\n$1\n").replace(/^(.+)\n(?:=+|-+)[ \t]*$/gm, "\n$1\n");
    return text.split(/\n\s*\n/).filter((b) => b.trim()).map(block).join("\n");
  }

  function renderPreview() {
    const body = field("body").value;
    preview.innerHTML = body.trim()
      ? markdown(body)
      : '<p class="preview-empty">' + escapeHtml(t("Nothing to preview yet.")) + "</p>";
  }

  if (previewButton && preview) {
    previewButton.hidden = false;
    previewButton.addEventListener("click", () => {
      const show = preview.hidden;
      preview.hidden = !show;
      previewButton.setAttribute("aria-expanded", String(show));
      previewButton.textContent = show ? t("Hide preview") : t("Preview");
      if (show) renderPreview();
    });
    field("body").addEventListener("input", () => {
      if (!preview.hidden) renderPreview();
    });
  }

  // ---- Field errors --------------------------------------------------------------------------

  function clearErrors() {
    status.hidden = true;
    status.textContent = "";
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    form.querySelectorAll('[aria-invalid="true"]').forEach((input) => {
      input.removeAttribute("aria-invalid");
      const ids = (input.getAttribute("aria-describedby") || "").split(" ")
        .filter((id) => id && id !== input.id + "-error");
      if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
      else input.removeAttribute("aria-describedby");
    });
  }

  function showStatus(message) {
    status.textContent = message;
    status.hidden = false;
  }

  function markField(name, message) {
    const input = field(name);
    if (!input || input.type === "hidden" || !input.id) return null;
    const note = document.createElement("span");
    note.className = "field-error";
    note.id = input.id + "-error";
    note.textContent = message;
    input.insertAdjacentElement("afterend", note);
    input.setAttribute("aria-invalid", "true");
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    input.setAttribute("aria-describedby", ids.concat(note.id).join(" "));
    return input;
  }

  function showErrors(answer) {
    clearErrors();
    const fields = (answer && answer.fields) || {};
    const loose = [];
    let first = null;
    Object.keys(fields).forEach((name) => {
      const input = markField(name, String(fields[name]));
      if (input) first = first || input;
      else loose.push(String(fields[name]));
    });
    const summary = (answer && answer.error) || t("Please correct the highlighted fields.");
    showStatus([summary].concat(loose).join(" "));
    (first || status).focus();
  }

  function checkLocally(data) {
    const problems = {};
    if (!data.body) problems.body = t("Please write a comment.");
    if (!data.author) problems.author = t("Please give your name.");
    if (!data.email) problems.email = t("Please give your email address; it is never published.");
    else if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(data.email)) problems.email = t("This does not look like an email address.");
    if (data.url && !/^https?:\/\/\S+$/i.test(data.url)) problems.url = t("A website address starts with http:// or https://.");
    return Object.keys(problems).length ? problems : null;
  }

  // ---- Replying --------------------------------------------------------------------------------

  function clearParent() {
    field("parent").value = "";
    replying.hidden = true;
    replying.textContent = "";
  }

  // A name is isolated from the text around it: a right-to-left mark in it cannot reorder the line.
  function isolated(name) {
    const bdi = document.createElement("bdi");
    bdi.textContent = name;
    return bdi;
  }

  function setParent(id, author) {
    field("parent").value = id;
    const who = document.createElement("strong");
    who.append(isolated(author || t("comment %(id)s", { id })));
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "cancel-reply secondary";
    cancel.textContent = t("Cancel reply");
    cancel.addEventListener("click", () => {
      clearParent();
      field("body").focus();
    });
    // "Replying to %(name)s": the name goes where the translation puts it.
    const [before, after] = t("Replying to %(name)s").split("%(name)s");
    replying.textContent = "";
    replying.append(before || "", who, after || "", " ", cancel);
    replying.hidden = false;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.comment-reply");
    if (!link) return;
    event.preventDefault();
    setParent(link.dataset.parent, link.dataset.author);
    form.scrollIntoView({ block: "start" });
    field("body").focus({ preventScroll: true });
  });

  // ---- The writer's own pending comments ------------------------------------------------------

  function commentList() {
    let list = document.querySelector("#comments .comment-list");
    if (!list) {
      const section = document.getElementById("comments");
      if (!section) return null;
      const empty = section.querySelector(".no-comments");
      if (empty) empty.remove();
      list = document.createElement("ol");
      list.className = "comment-list";
      section.appendChild(list);
    }
    return list;
  }

  function showPending(entry) {
    if (document.getElementById("pending-" + entry.id)) return;
    const item = document.createElement("li");
    item.className = "comment pending";
    item.id = "pending-" + entry.id;
    item.dataset.comment = entry.id;
    const article = document.createElement("article");
    const head = document.createElement("header");
    head.className = "comment-head";
    const who = document.createElement("span");
    who.className = "author";
    who.append(isolated(entry.author));
    const note = document.createElement("span");
    note.className = "pending-label";
    note.textContent = entry.status === "published"
      ? t("Published.")
      : t("Your comment is awaiting moderation. Only you can see it.");
    head.append(who, " ", note);
    const body = document.createElement("div");
    body.className = "comment-body";
    body.innerHTML = markdown(entry.body); // escaped subset: see markdown()
    article.append(head, body);
    item.append(article);
    const parent = entry.parent && document.getElementById("comment-" + entry.parent);
    let list;
    if (parent) {
      list = parent.querySelector(":scope > ol.children");
      if (!list) {
        list = document.createElement("ol");
        list.className = "children";
        parent.appendChild(list);
      }
    } else {
      list = commentList();
    }
    if (list) list.appendChild(item);
    return item;
  }

  function rememberPending(entry) {
    if (!local) return;
    const all = readJSON(local, PENDING_KEY, []).filter((e) => e.id !== entry.id);
    all.push(entry);
    local.setItem(PENDING_KEY, JSON.stringify(all));
  }

  function restorePending() {
    if (!local) return;
    const now = Date.now();
    // Drop what is published now (it is in the page) or too old to matter.
    const keep = readJSON(local, PENDING_KEY, []).filter(
      (e) => e && e.id && now - e.sent < PENDING_MAX_AGE && !document.getElementById("comment-" + e.id)
    );
    local.setItem(PENDING_KEY, JSON.stringify(keep));
    keep.forEach(showPending);
  }

  function showNotice(published) {
    const on = document.getElementById(published ? "comment-published" : "comment-pending");
    const off = document.getElementById(published ? "comment-pending" : "comment-published");
    if (off) off.classList.remove("shown");
    if (on) on.classList.add("shown");
  }

  // ---- Remembering the commenter (only when asked) ----------------------------------------------

  if (local && saveBox) {
    saveBox.hidden = false;
    const saved = readJSON(local, SAVED_KEY, null);
    if (saved) {
      ["author", "email", "url"].forEach((name) => {
        if (saved[name] && !field(name).value) field(name).value = saved[name];
      });
      saveInput.checked = true;
    }
  }

  function rememberCommenter(data) {
    if (!local) return;
    if (saveInput && saveInput.checked) {
      local.setItem(SAVED_KEY, JSON.stringify({ author: data.author, email: data.email, url: data.url }));
    } else {
      local.removeItem(SAVED_KEY);
    }
  }

  // ---- Sending ----------------------------------------------------------------------------------

  // ---- Editing and deleting one's own comments ---------------------------------------------------
  // The token of each comment sent from here, its text, and until when it works (localStorage,
  // so a reload or a new tab keeps them; expired ones are dropped).

  let unstored = {}; // where tokens live for this page only when storage is blocked

  function editable() {
    const now = Date.now();
    const all = local ? readJSON(local, EDIT_KEY, {}) : unstored;
    const live = {};
    Object.keys(all).forEach((id) => {
      const e = all[id];
      if (e && typeof e.token === "string" && e.until > now) live[id] = e;
    });
    return live;
  }

  function rememberEditable(id, entry) {
    const all = editable();
    if (entry) all[String(id)] = entry;
    else delete all[String(id)];
    if (local) local.setItem(EDIT_KEY, JSON.stringify(all));
    else unstored = all;
  }

  function updatePending(id, change) {
    if (!local) return;
    const all = readJSON(local, PENDING_KEY, []);
    const kept = all.map((e) => (e && e.id === id ? Object.assign({}, e, change) : e))
      .filter((e) => e && !e.deleted);
    local.setItem(PENDING_KEY, JSON.stringify(kept));
  }

  function commentItem(id) {
    return document.getElementById("comment-" + id) || document.getElementById("pending-" + id);
  }

  function ownNote(item, text) {
    const head = item.querySelector(":scope > article .comment-head");
    let note = item.querySelector(":scope > article .pending-label");
    if (!note && head) {
      note = document.createElement("span");
      note.className = "pending-label";
      head.append(" ", note);
    }
    if (note) note.textContent = text;
  }

  function ownStatus(item, text) {
    let line = item.querySelector(":scope > article .own-status");
    if (!line) {
      line = document.createElement("p");
      line.className = "own-status";
      line.setAttribute("role", "status");
      item.querySelector(":scope > article").appendChild(line);
    }
    line.textContent = text;
  }

  function ownButton(label, name, handler) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary " + name;
    button.textContent = label;
    button.addEventListener("click", handler);
    return button;
  }

  function dropControls(id) {
    const item = commentItem(id);
    const bar = item && item.querySelector(":scope > article .own-actions");
    if (bar) bar.remove();
  }

  function refused(id, response, answer) {
    const item = commentItem(id);
    const message = (answer && answer.error) || t("This comment can no longer be changed.");
    if (response.status === 403 || response.status === 409 || response.status === 404) {
      rememberEditable(id, null);
      dropControls(id);
    }
    if (item) ownStatus(item, message);
  }

  function send(method, id, payload) {
    return fetch(form.action + "/" + encodeURIComponent(id), {
      method: method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(payload),
    }).then((response) => response.json().catch(() => ({})).then((answer) => ({ response, answer })));
  }

  // Its token gone meanwhile (deleted, or its window closed, in another tab): say so, not nothing.
  function noLongerEditable(id, item) {
    dropControls(id);
    ownNote(item, t("This comment can no longer be changed."));
  }

  function startEdit(id) {
    const entry = editable()[id];
    const item = commentItem(id);
    if (item && !entry) return noLongerEditable(id, item);
    if (!entry || !item || item.querySelector(".own-editor")) return;
    const body = item.querySelector(":scope > article .comment-body");
    const editor = document.createElement("div");
    editor.className = "own-editor";
    const label = document.createElement("label");
    label.htmlFor = "own-edit-" + id;
    label.textContent = t("Your comment");
    const area = document.createElement("textarea");
    area.id = "own-edit-" + id;
    area.rows = 6;
    area.maxLength = 10000;
    area.value = entry.body || "";
    const problem = document.createElement("p");
    problem.className = "field-error";
    problem.hidden = true;
    const bar = item.querySelector(":scope > article .own-actions");
    const close = () => {
      editor.remove();
      body.hidden = false;
      if (bar) bar.hidden = false;
    };
    const save = ownButton(t("Save"), "own-save", () => {
      const text = area.value.trim();
      if (!text) {
        problem.textContent = t("Please write a comment.");
        problem.hidden = false;
        area.focus();
        return;
      }
      save.disabled = true;
      send("PATCH", id, { body: text, edit_token: entry.token })
        .then(({ response, answer }) => {
          if (response.ok) {
            rememberEditable(id, Object.assign({}, entry, { body: text }));
            if (answer.status !== "published" && item.id === "comment-" + id) {
              // Back to moderation: off the site, so kept here for its writer, and no replies to it.
              const parentItem = item.parentElement && item.parentElement.closest("li.comment");
              const author = item.querySelector(":scope > article .author");
              rememberPending({ id: Number(id), status: answer.status, body: text, sent: Date.now(),
                author: author ? author.textContent : "", parent: parentItem ? Number(parentItem.dataset.comment) : null });
              const reply = item.querySelector(":scope > article a.comment-reply");
              if (reply) reply.hidden = true;
            } else {
              updatePending(Number(id), { body: text, status: answer.status });
            }
            body.innerHTML = markdown(text); // escaped subset: see markdown()
            close();
            ownNote(item, answer.status === "published"
              ? t("Edited. The new text replaces the old one on the page in a moment.")
              : t("Your comment is awaiting moderation. Only you can see it."));
          } else if (response.status === 400) {
            problem.textContent = String((answer.fields && answer.fields.body) || answer.error || "");
            problem.hidden = false;
          } else {
            close();
            refused(id, response, answer);
          }
        })
        .catch(() => {
          problem.textContent = t("Your edit could not be sent. Check your connection and try again.");
          problem.hidden = false;
        })
        .finally(() => { save.disabled = false; });
    });
    const cancel = ownButton(t("Cancel"), "own-cancel", close);
    editor.append(label, area, problem, save, " ", cancel);
    body.hidden = true;
    if (bar) bar.hidden = true;
    body.insertAdjacentElement("afterend", editor);
    area.focus();
  }

  function startDelete(id) {
    const entry = editable()[id];
    const item = commentItem(id);
    if (item && !entry) return noLongerEditable(id, item);
    if (!entry || !item || item.querySelector(".own-confirm")) return;
    const ask = document.createElement("p");
    ask.className = "own-confirm";
    ask.setAttribute("role", "alert");
    const question = document.createElement("span");
    question.textContent = t("Delete this comment for good?");
    const yes = ownButton(t("Delete"), "own-delete-yes", () => {
      yes.disabled = true;
      send("DELETE", id, { edit_token: entry.token })
        .then(({ response, answer }) => {
          if (response.ok) {
            rememberEditable(id, null);
            updatePending(Number(id), { deleted: true });
            const gone = document.createElement("p");
            gone.className = "own-deleted";
            gone.setAttribute("role", "status");
            gone.textContent = t("Your comment is deleted.");
            item.querySelector(":scope > article").replaceChildren(gone);
          } else {
            ask.remove();
            refused(id, response, answer);
          }
        })
        .catch(() => {
          ask.remove();
          ownStatus(item, t("Your comment could not be deleted. Check your connection and try again."));
        });
    });
    const no = ownButton(t("Keep it"), "own-delete-no", () => ask.remove());
    ask.append(question, " ", yes, " ", no);
    item.querySelector(":scope > article").appendChild(ask);
    no.focus();
  }

  function offerControls(id, entry) {
    const item = commentItem(id);
    if (!item || item.querySelector(":scope > article .own-actions")) return;
    const bar = document.createElement("p");
    bar.className = "own-actions";
    const edit = ownButton(t("Edit"), "own-edit", () => startEdit(id));
    edit.setAttribute("aria-label", t("Edit your comment"));
    const remove = ownButton(t("Delete"), "own-delete", () => startDelete(id));
    remove.setAttribute("aria-label", t("Delete your comment"));
    bar.append(edit, " ", remove);
    item.querySelector(":scope > article").appendChild(bar);
    // The window closes: the service would refuse now, so stop offering.
    setTimeout(() => {
      dropControls(id);
      rememberEditable(id, null);
    }, Math.min(Math.max(entry.until - Date.now(), 0), MAX_TIMER));
  }

  function offerAllControls() {
    const all = editable();
    Object.keys(all).forEach((id) => offerControls(id, all[id]));
  }

  // ---- Closing: when the thread's closing time passes before the next build ---------------------

  function closeForm() {
    const section = form.closest(".respond");
    if (section) {
      section.querySelectorAll("h2, .notice").forEach((el) => { el.hidden = true; });
      const note = section.querySelector(".comments-closed");
      if (note) note.hidden = false;
    }
    form.hidden = true;
    document.querySelectorAll("a.comment-reply").forEach((link) => { link.hidden = true; });
  }

  // The thread closed while the reader wrote (the service said 403): the form goes, their text stays.
  function closedWhileWriting() {
    const text = field("body").value;
    closeForm();
    const section = form.closest(".respond");
    const note = section && section.querySelector(".comments-closed");
    if (!note) return;
    note.setAttribute("role", "alert");
    if (!text.trim()) return;
    const label = document.createElement("label");
    label.htmlFor = "comment-kept";
    label.textContent = t("What you wrote, to keep:");
    const kept = document.createElement("textarea");
    kept.id = "comment-kept";
    kept.rows = 8;
    kept.readOnly = true;
    kept.value = text;
    const holder = document.createElement("p");
    holder.append(label, kept);
    note.insertAdjacentElement("afterend", holder);
    kept.focus();
  }

  const closesAt = Date.parse(form.dataset.closesAt || "");
  if (!Number.isNaN(closesAt)) {
    if (closesAt <= Date.now()) closeForm();
    else setTimeout(closeForm, Math.min(closesAt - Date.now(), MAX_TIMER));
  }

  function accepted(data, answer) {
    const entry = {
      id: answer.id, status: answer.status, author: data.author, body: data.body,
      parent: data.parent, sent: Date.now(),
    };
    rememberCommenter(data);
    rememberPending(entry);
    const until = Date.parse(answer.editable_until || "");
    const token = answer.edit_token && !Number.isNaN(until)
      ? { token: answer.edit_token, until: until, body: data.body } : null;
    if (token) rememberEditable(answer.id, token);
    const item = showPending(entry);
    if (token) offerControls(String(answer.id), token);
    showNotice(answer.status === "published");
    field("body").value = "";
    clearParent();
    if (preview && !preview.hidden) renderPreview();
    if (item) item.scrollIntoView({ block: "nearest" });
  }

  // A 429's Retry-After is the wait until the limit lets one more comment through: shown as the
  // clock time (rounded up to the minute) from which sending works, which needs no plural forms.
  function tooFast(response) {
    const seconds = Number(response.headers.get("Retry-After"));
    if (!(seconds > 0)) return t("You are commenting faster than we allow. Please wait a minute and send again; your text is still here.");
    const from = new Date(Math.ceil((Date.now() + seconds * 1000) / 60000) * 60000);
    const time = from.toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" });
    return t("You are commenting faster than we allow. Please send again from %(time)s; your text is still here.", { time });
  }

  function failed(response) {
    if (response.status === 413) showStatus(t("Your comment is too long to send. Please shorten it."));
    else if (response.status === 429) showStatus(tooFast(response));
    else if (response.status === 404) showStatus(t("This article does not take comments."));
    else if (response.status === 403) return closedWhileWriting();
    else if (response.status === 503) showStatus(t("The comments cannot be stored for a moment. Please send again in half a minute; your text is still here."));
    else showStatus(t("The comment service had a problem (%(status)s). Please try again in a moment; your text is still here.", { status: response.status }));
    status.focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors();
    const parent = field("parent").value;
    const data = {
      author: field("author").value.trim(),
      email: field("email").value.trim(),
      url: field("url").value.trim(),
      body: field("body").value.trim(),
      parent: parent ? Number(parent) : null,
      notify: field("notify") ? field("notify").checked : false,
      subscribe: field("subscribe") ? field("subscribe").checked : false,
      contact_me_by_fax_only: field("contact_me_by_fax_only") ? field("contact_me_by_fax_only").value : "",
    };
    const problems = checkLocally(data);
    if (problems) {
      showErrors({ error: t("Please correct the highlighted fields."), fields: problems });
      return;
    }
    submitButton.disabled = true;
    form.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(data),
    })
      .then((response) => response.json().catch(() => ({})).then((answer) => {
        if (response.status === 400) showErrors(answer);
        else if (response.ok && answer && answer.id !== undefined) accepted(data, answer);
        else failed(response);
      }))
      .catch(() => {
        showStatus(t("Your comment could not be sent. Check your connection and try again; your text is still here."));
        status.focus();
      })
      .finally(() => {
        submitButton.disabled = false;
        form.removeAttribute("aria-busy");
      });
  });

  status.tabIndex = -1;
  restorePending();
  offerAllControls();
})();
