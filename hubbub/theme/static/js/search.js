// The search page: Pagefind's JavaScript API (pagefind/pagefind.js, written by `hubbub build`)
// drawing results with the theme's own markup. The query and filters live in the address
// (?q=...&author=...), so the header box, shared links and the back button all work. Text from
// the index is only ever set as text; excerpts keep Pagefind's <mark> and nothing else. Its words
// come from the page (the .search element's data-strings, in the site's language); the English
// text is the key, and the fallback.
const root = document.querySelector(".search");
const form = root && root.querySelector(".search-form");

if (form) {
  const input = form.elements.namedItem("q");
  const status = root.querySelector(".search-status");
  const list = root.querySelector(".search-results");
  const more = root.querySelector(".search-more");
  const FILTERS = ["type", "author", "category", "tag"];
  const PAGE = 10;
  const DEBOUNCE_MS = 120;

  // The site's base path: this page's path less the search page's own address (SEARCH_URL), so
  // result links are right on a site served from a sub-directory too.
  const searchPath = root.dataset.searchUrl || "search/";
  const basePath = location.pathname.endsWith(searchPath)
    ? location.pathname.slice(0, -searchPath.length) : "/";
  const bundle = new URL(root.dataset.bundle || "/pagefind/", document.baseURI).href;

  let pagefind = null;
  let loading = null;
  let generation = 0; // each search supersedes the ones before it
  let results = [];
  let shown = 0;
  let timer = null;

  let strings = {};
  try {
    strings = JSON.parse(root.dataset.strings || "{}") || {};
  } catch (err) {
    strings = {};
  }
  const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (m, name) =>
    values && name in values ? String(values[name]) : m);
  const t = (text, values) => fill(typeof strings[text] === "string" ? strings[text] : text, values);
  // Plurals: the page gives each of the language's plural categories (Intl.PluralRules) its form.
  const plurals = new Intl.PluralRules(document.documentElement.lang || "en");
  const tn = (singular, plural, n, values) => {
    const forms = strings[singular];
    const form = forms && typeof forms === "object" ? forms[plurals.select(n)] || forms.other : null;
    return fill(form || (n === 1 ? singular : plural), { num: n, ...values });
  };

  // A large site's index comes in shards (hubbub-shards.json names their bundles): the first is
  // loaded, the others merged into it, and each search runs over all of them, ranked together.
  // Each shard's results carry a filter of their own (SHARD: its number) for find() below.
  // Pages edited since their shard was indexed are in one more bundle, the overlay; their older
  // copies in the shards are hidden (by Pagefind's page hash, with the number of their shard).
  const SHARD = "hubbub-shard";
  let shards = 1;
  const hidden = new Map();
  let hiddenFilters = {}; // per filter, how many hidden copies hold each value
  const unhidden = (result) => !hidden.has(result.id);
  const visible = (found) => (hidden.size ? { ...found, results: found.results.filter(unhidden) } : found);
  // How many results of a search a shard holds, hidden ones left out.
  const held = (found, n) => ((found.filters[SHARD] || {})[n] || 0)
    - found.results.filter((result) => hidden.get(result.id) === n).length;

  function load() {
    if (!loading) {
      loading = fetch(bundle + "hubbub-shards.json", { cache: "no-cache" })
        .then((answer) => {
          if (!answer.ok) throw new Error("no search index (" + answer.status + ")");
          return answer.json();
        })
        .then(async ({ bundles, hidden: stale, hidden_filters: staleFilters }) => {
          for (const [n, ids] of Object.entries(stale || {})) for (const id of ids) hidden.set(id, n);
          hiddenFilters = staleFilters || {};
          const [first, ...others] = bundles.map((dir) => new URL(dir, bundle).href);
          const options = (n) => ({ baseUrl: basePath, excerptLength: 24,
            ...(bundles.length > 1 ? { mergeFilter: { [SHARD]: String(n) } } : {}) });
          const module = await import(first + "pagefind.js");
          await module.options(options(0));
          await module.init();
          await Promise.all(others.map((dir, n) => module.mergeIndex(dir, options(n + 1))));
          shards = bundles.length;
          pagefind = module;
          return module;
        });
    }
    return loading;
  }

  // Pagefind leaves out a word its index does not have (a forgiving search). Over shards, a word
  // that only some of them hold would be left out by the others, which would then answer with the
  // rest of the query alone: so each word is first looked up on its own, and only the shards that
  // hold every word the site has take part, as one index of the whole site would answer.
  async function find(api, query, chosen) {
    const words = query.replace(/"/g, " ").split(/\s+/).filter(Boolean);
    const plain = api.search(query || null, { filters: chosen }).then(visible);
    if (shards < 2 || words.length < 2) return plain;
    const alone = await Promise.all(words.map((word) => api.search(word)));
    const known = alone.filter((r) => r.results.some(unhidden));
    const holding = [];
    for (let n = 0; n < shards; n++) {
      if (known.every((r) => held(r, String(n)) > 0)) holding.push(String(n));
    }
    if (holding.length === shards) return plain; // (most queries: every shard has every word)
    if (!holding.length) return { results: [] };
    return visible(await api.search(query, { filters: { ...chosen, [SHARD]: { any: holding } } }));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Pagefind excerpts are HTML with <mark> around the matched words. Parse them inertly and
  // keep the text and the marks only.
  function excerptNodes(html) {
    const doc = new DOMParser().parseFromString("<p>" + (html || "") + "</p>", "text/html");
    const out = [];
    for (const node of doc.body.firstChild ? doc.body.firstChild.childNodes : []) {
      if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "MARK") out.push(el("mark", null, node.textContent));
      else out.push(document.createTextNode(node.textContent));
    }
    return out;
  }

  function safeHref(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  function first(values) {
    return Array.isArray(values) && values.length ? values[0] : "";
  }

  function link(url, text) {
    const a = el("a", null, text);
    const href = safeHref(url);
    if (href) a.href = href;
    return a;
  }

  function render(data) {
    const item = el("li", "search-result");
    const kind = first(data.filters && data.filters.type);
    const heading = el("h2");
    heading.append(link(data.url, (data.meta && data.meta.title) || data.url));
    item.append(heading);
    const facts = [kind && t(kind), first(data.filters && data.filters.author), data.meta && data.meta.date].filter(Boolean);
    if (facts.length) item.append(el("p", "meta", facts.join(" · ")));
    // A thread's comments come as one document: show the matching comments, each linking to itself.
    const title = (data.meta && data.meta.title) || "";
    const subs = (data.sub_results || []).filter((s) => s.url.includes("#") && s.title !== title);
    if (kind !== "Comments" || !subs.length) {
      const excerpt = el("p", "search-excerpt");
      excerpt.append(...excerptNodes(data.excerpt));
      item.append(excerpt);
    }
    if (subs.length) {
      const sublist = el("ul", "search-subresults");
      for (const sub of subs.slice(0, 3)) {
        const li = el("li");
        const label = kind === "Comments" ? t("Comment by %(name)s", { name: sub.title }) : sub.title;
        li.append(link(sub.url, label), document.createTextNode(": "), ...excerptNodes(sub.excerpt));
        sublist.append(li);
      }
      item.append(sublist);
    }
    return item;
  }

  function chosenFilters() {
    const chosen = {};
    for (const name of FILTERS) {
      const select = form.elements.namedItem(name);
      if (select && select.value) chosen[name] = select.value;
    }
    return chosen;
  }

  function remember(query, chosen) {
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    for (const [name, value] of Object.entries(chosen)) params.set(name, value);
    const address = params.toString() ? "?" + params.toString() : location.pathname;
    history.replaceState(null, "", address);
  }

  function describe(count, query, chosen) {
    const filtered = Object.keys(chosen).length > 0;
    if (!count) {
      if (!query) return t("No results for these filters. Try fewer or different words, or clear a filter.");
      return filtered
        ? t("No results for “%(query)s” with these filters. Try fewer or different words, or clear a filter.", { query })
        : t("No results for “%(query)s”. Try fewer or different words, or clear a filter.", { query });
    }
    if (!query) return tn("%(num)s result for these filters.", "%(num)s results for these filters.", count);
    return filtered
      ? tn("%(num)s result for “%(query)s” with these filters.", "%(num)s results for “%(query)s” with these filters.", count, { query })
      : tn("%(num)s result for “%(query)s”.", "%(num)s results for “%(query)s”.", count, { query });
  }

  async function showMore(id) {
    // Each result's text is a small file of its own: fetch them together, show each as it comes, in order.
    const batch = results.slice(shown, shown + PAGE).map((r) => r.data());
    shown += batch.length;
    for (const pending of batch) {
      const data = await pending;
      if (id !== generation) return;
      list.append(render(data));
    }
    more.hidden = shown >= results.length;
  }

  async function search() {
    const id = ++generation;
    const query = input.value.trim();
    const chosen = chosenFilters();
    remember(query, chosen);
    if (!query && !Object.keys(chosen).length) {
      results = [];
      list.replaceChildren();
      more.hidden = true;
      status.textContent = "";
      list.setAttribute("aria-busy", "false");
      return;
    }
    list.setAttribute("aria-busy", "true");
    try {
      const api = pagefind || (await load());
      const found = await find(api, query, chosen);
      if (id !== generation) return;
      results = found.results;
      shown = 0;
      list.replaceChildren();
      await showMore(id);
      if (id !== generation) return;
      status.textContent = describe(results.length, query, chosen);
    } catch (err) {
      if (id !== generation) return;
      status.textContent = t("Search is not available right now. The archives, tags and categories list every post.");
      list.replaceChildren();
      more.hidden = true;
    }
    list.setAttribute("aria-busy", "false");
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  }

  async function fillFilters(wanted) {
    const api = await load();
    const all = await api.filters();
    for (const name of FILTERS) {
      const select = form.elements.namedItem(name);
      if (!select) continue;
      const stale = hiddenFilters[name] || {};
      const values = Object.entries(all[name] || {})
        .filter(([value, count]) => count > (stale[value] || 0)) // held by a current page
        .sort((a, b) => a[0].localeCompare(b[0]));
      for (const [value] of values) {
        // Kinds are the index's own words (Post, Page, Writer, Comments): shown translated.
        const option = el("option", null, name === "type" ? t(value) : value);
        option.value = value;
        select.append(option);
      }
      if (wanted[name] && values.some(([value]) => value === wanted[name])) select.value = wanted[name];
      select.closest(".field").hidden = values.length === 0;
    }
  }

  const params = new URLSearchParams(location.search);
  input.value = params.get("q") || "";
  const wanted = {};
  for (const name of FILTERS) if (params.get(name)) wanted[name] = params.get(name);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    search();
  });
  input.addEventListener("input", soon);
  for (const name of FILTERS) form.elements.namedItem(name).addEventListener("change", search);
  more.querySelector("button").addEventListener("click", () => {
    const next = list.children.length;
    showMore(generation).then(() => {
      const link = list.children[next] && list.children[next].querySelector("a");
      if (link) link.focus(); // keyboard users continue where the new results start
    });
  });

  const filters = () => fillFilters(wanted).catch(() => {
    for (const name of FILTERS) form.elements.namedItem(name).closest(".field").hidden = true;
  });
  if (input.value && !Object.keys(wanted).length) {
    // A query alone in the address: its results first; the filter lists (their own downloads) after.
    search().then(filters);
  } else {
    filters().then(() => {
      if (input.value || Object.keys(chosenFilters()).length) search();
    });
  }
}
