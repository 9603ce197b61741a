// ocrwatch's page: the hot folder's dashboard, reading an image, searching the index and opening a hit.
// Plain DOM, no build step, nothing from another server. The address bar holds the view (address.js).

import { filterCount, hasFilters, href, parse, pick, save, SEARCH_PARAMS, searchParams } from "./address.js";
import { api, withToken } from "./api.js";
import { refresh as refreshDashboard, startDashboard } from "./dashboard.js";
import { $, basename, el, plural, toast } from "./dom.js";
import { closeViewer, focusViewer, showPage, showView, shown, wireViewer } from "./viewer.js";

const PAGE_SIZE = 20;
const TYPING_MS = 250;

// ---------------------------------------------------------------- the view in the address bar

let state = parse(location.search);
/** While true, a keystroke replaces the history entry the query's first keystroke pushed. */
let typing = false;

/** Show `next` and put it in the address bar: a new history entry unless `push` is false. */
function navigate(next, { push = true, typed = false } = {}) {
  state = pick(next);
  typing = typed;
  save(state, push);
  render({ typed });
}

function render({ typed = false } = {}) {
  syncForm();
  updateSearch(typed);
  updateViewer();
}

/** The search form's controls show the state; each is named after its parameter (a parameter
 * without a control is kept in the address bar and sent all the same). */
function syncForm() {
  const form = $("search-form");
  for (const name of SEARCH_PARAMS) {
    const control = form.elements[name];
    const value = state[name] || "";
    if (!control) continue;
    if (control.type === "checkbox") control.checked = Boolean(value);
    else if (control.value !== value) {
      if (control.tagName === "SELECT" && value && !control.querySelector(`option[value="${CSS.escape(value)}"]`)) {
        control.append(el("option", { value, text: value }));
      }
      control.value = value;
    }
  }
  const filters = filterCount(state);
  $("filter-count").textContent = filters ? ` (${filters})` : "";
}

function readForm() {
  const form = $("search-form");
  const values = {};
  for (const name of SEARCH_PARAMS) {
    const control = form.elements[name];
    if (control) values[name] = control.type === "checkbox" ? (control.checked ? "true" : "") : control.value;
  }
  return values;
}

// ---------------------------------------------------------------- search

let hits = [];
let searchController = null;
let searchTimer = 0;
let searchSeq = 0;
let searchedKey = null;
/** Settles when the latest search has been shown, so an opened document can mark its matches. */
let searching = Promise.resolve();

/** Results as you type: the word being typed is searched as a prefix. */
function asTyped(query) {
  const trimmed = query.trim();
  const last = trimmed.split(/\s+/).pop() || "";
  const open = (trimmed.match(/"/g) || []).length % 2 === 1;
  if (!open && /^[\p{L}\p{N}]+$/u.test(last) && !["AND", "OR", "NOT"].includes(last) && !/\s$/.test(query)) {
    return `${trimmed}*`;
  }
  return trimmed;
}

function updateSearch(typed) {
  const key = searchParams(state).toString();
  if (key === searchedKey) return;
  searchedKey = key;
  clearTimeout(searchTimer);
  // Words, or filters alone (the pages that pass, newest read first); neither: the latest documents.
  const wanted = Boolean((state.q || "").trim()) || hasFilters(state);
  $("results-card").hidden = !wanted;
  $("recent-card").hidden = wanted;
  if (!wanted) {
    searchSeq++; // whatever is still on its way belongs to an older query
    searchController?.abort();
    hits = [];
    searching = Promise.resolve();
    return;
  }
  if (typed) searchTimer = setTimeout(() => (searching = search()), TYPING_MS);
  else searching = search();
}

/** Search for the state's query and filters (or, with no words, list what the filters let pass); an
 * answer that arrives after a later search began is dropped, so the list never shows the results of
 * a query older than the latest. */
async function search(offset = 0) {
  const mine = ++searchSeq;
  searchController?.abort();
  searchController = new AbortController();
  const query = (state.q || "").trim();
  const params = searchParams(state);
  params.set("q", asTyped(state.q || ""));
  params.set("limit", PAGE_SIZE);
  params.set("offset", offset);
  const list = $("results");
  const count = $("result-count");
  try {
    const result = await api(`/api/search?${params}`, { signal: searchController.signal });
    if (mine !== searchSeq) return;
    if (offset === 0) {
      hits = [];
      list.replaceChildren();
    }
    hits.push(...result.hits);
    result.hits.forEach((hit) => list.append(hitItem(hit, Boolean(query))));
    updateViewer(); // the open document's matches are this search's
    const more = result.hits.length === PAGE_SIZE;
    $("more").hidden = !more;
    count.classList.remove("error");
    count.textContent = query ? matchCount(query, more) : passCount(more);
  } catch (error) {
    if (error.name === "AbortError" || mine !== searchSeq) return;
    list.replaceChildren();
    $("more").hidden = true;
    count.classList.add("error");
    count.textContent = error.message;
  }
}

/** How many pages match the words `query` (`more`: there are more to show). */
function matchCount(query, more) {
  if (!hits.length) return `Nothing indexed matches “${query}”.`;
  return `${hits.length}${more ? "+" : ""} ${hits.length === 1 && !more ? "page matches" : "pages match"} “${query}”`;
}

/** How many pages pass the filters of a search without words. */
function passCount(more) {
  if (!hits.length) return "Nothing indexed passes the filters.";
  return `${hits.length}${more ? "+" : ""} ${hits.length === 1 && !more ? "page passes" : "pages pass"} the filters`;
}

/** A link to a document's page in the viewer, keeping the search: a real address, so it opens in a
 * new tab too. */
function docLink(id, page, ...children) {
  const link = el("a", { class: "hit", href: href({ ...state, doc: id, page }), "data-doc": id, "data-page": page }, ...children);
  const thumb = el("img", { class: "thumb", alt: "", loading: "lazy", src: withToken(`/api/documents/${id}/pages/${page}/thumbnail`) });
  thumb.addEventListener("error", () => thumb.classList.add("missing"));
  link.prepend(thumb);
  return link;
}

/** A hit of a search with `words` (its matching words are counted) or of filters alone (none match). */
function hitItem(hit, words) {
  const snippet = el("p", { class: "snippet" });
  for (const segment of hit.snippet) {
    snippet.append(segment.match ? el("mark", { text: segment.text }) : document.createTextNode(segment.text));
  }
  const title = el("span", { class: "hit-title", text: basename(hit.path), title: hit.path });
  const close = hit.fuzzy ? " · a close match: the marked words are read a letter or two off" : "";
  const matching = words ? ` · ${plural(hit.words.length, "matching word")}` : "";
  const meta = el("span", { class: "hit-meta", text: `page ${hit.page}${matching}${close}` });
  return el("li", {}, docLink(hit.document_id, hit.page, el("span", { class: "hit-body" }, title, meta, snippet)));
}

function recentItem(doc) {
  const name = doc.path ? basename(doc.path) : `document ${doc.id}`;
  const title = el("span", { class: "hit-title", text: name, title: doc.path || "" });
  const when = new Date(doc.created_at).toLocaleString();
  const meta = el("span", { class: "hit-meta", text: `${plural(doc.pages, "page")} · read ${when}` });
  return el("li", {}, docLink(doc.id, 1, el("span", { class: "hit-body" }, title, meta)));
}

/** Mark the link of what the viewer shows. */
function markCurrent() {
  const open = shown();
  for (const link of document.querySelectorAll("a.hit[data-doc]")) {
    const current = open && Number(link.dataset.doc) === open.doc && Number(link.dataset.page) === open.page;
    if (current) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
}

function wireSearch() {
  const form = $("search-form");
  const input = $("q");
  input.addEventListener("input", () => navigate({ ...state, q: input.value }, { push: !typing, typed: true }));
  form.addEventListener("change", (event) => {
    if (event.target !== input) navigate({ ...state, ...readForm() });
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    typing = false;
    if ((state.q || "").trim() || hasFilters(state)) searching = search();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      const first = $("results").querySelector("a");
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  $("results").addEventListener("keydown", (event) => {
    const links = [...$("results").querySelectorAll("a")];
    const at = links.indexOf(document.activeElement);
    if (at < 0) return;
    if (event.key === "ArrowDown" && at < links.length - 1) links[at + 1].focus();
    else if (event.key === "ArrowUp") (at > 0 ? links[at - 1] : input).focus();
    else return;
    event.preventDefault();
  });
  $("more").addEventListener("click", () => search(hits.length));
  // Opening a result or a recent document: the same page, a new history entry.
  document.querySelector(".side").addEventListener("click", (event) => {
    const link = event.target.closest("a.hit[data-doc]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate({ ...state, doc: link.dataset.doc, page: link.dataset.page });
    focusViewer();
  });
  $("home").addEventListener("click", (event) => {
    event.preventDefault();
    navigate({});
  });
}

// ---------------------------------------------------------------- the open document (?doc=ID&page=N)

let openSeq = 0;
let opening = null;
/** The search hit whose words the viewer marks, or null. */
let markedHit = null;

function hitFor(id, page) {
  return hits.find((item) => item.document_id === id && item.page === page) ?? null;
}

function matchesOf(hit) {
  return hit ? { page: hit.page, words: new Set(hit.words.map((word) => word.index)) } : null;
}

function updateViewer() {
  const id = Number(state.doc) || null;
  const page = Number(state.page) || 1;
  const open = shown();
  if (id === null) {
    if (open) closeViewer(); // an upload that was not kept stays until it is closed
  } else if (open && open.doc === id) {
    const hit = hitFor(id, page);
    if (open.page !== page || hit !== markedHit) {
      markedHit = hit;
      showPage(page, matchesOf(hit));
    }
  } else if (opening !== id) {
    openDocument(id);
  }
  markCurrent();
}

async function openDocument(id) {
  const mine = ++openSeq;
  opening = id;
  try {
    const doc = await api(`/api/documents/${id}`);
    await searching; // the hit, with the words to mark, comes from the search
    if (mine !== openSeq) return;
    const page = Number(state.page) || 1;
    markedHit = hitFor(id, page);
    showView(
      {
        doc: id,
        title: basename(doc.paths[0]),
        meta: `document ${doc.id} · ${plural(doc.pages.length, "page")} · read ${new Date(doc.created_at).toLocaleString()}`,
        text: doc.text,
        pages: doc.pages.map((p) => ({ ...p, image: withToken(p.image_url), annotated: withToken(p.annotated_url) })),
        matches: matchesOf(markedHit),
      },
      page,
    );
    markCurrent();
  } catch (error) {
    if (mine === openSeq) toast(`Cannot open document ${id}: ${error.message}`);
  } finally {
    if (mine === openSeq) opening = null;
  }
}

// ---------------------------------------------------------------- reading an upload

async function readFile(file) {
  const status = $("upload-status");
  const keep = $("keep").checked;
  status.classList.remove("error");
  status.textContent = `Reading ${file.name}…`;
  $("drop").classList.add("busy");
  const form = new FormData();
  form.append("file", file, file.name || "pasted image");
  try {
    const result = await api(`/api/ocr${keep ? "?index=true" : ""}`, { method: "POST", body: form });
    const words = result.pages.reduce((sum, page) => sum + page.words.length, 0);
    status.textContent =
      `Read ${plural(words, "word")} on ${plural(result.pages.length, "page")} in ${result.seconds.toFixed(1)} s` +
      (result.document_id ? (result.status === "done" ? " · added to the index" : " · already in the index") : "");
    const local = URL.createObjectURL(file);
    const isImage = file.type.startsWith("image/") && !/tiff/.test(file.type);
    const id = result.document_id ?? null;
    const docPages = id ? (await api(`/api/documents/${id}`)).pages : null;
    // A kept upload is a document: its address opens it again. One not kept has no address.
    state = pick({ ...state, doc: id, page: id && 1 });
    save(state, true);
    markedHit = null;
    showView({
      doc: id,
      title: file.name || "Pasted image",
      meta: `${words} words · ${result.engine} ${result.engine_version}` + (id ? ` · document ${id}` : ""),
      text: result.text,
      pages: result.pages.map((page, i) => ({
        ...page,
        image: docPages ? withToken(docPages[i].image_url) : i === 0 && isImage ? local : null,
        annotated: docPages ? docPages[i].annotated_url : null,
      })),
      matches: null,
    });
    if (keep) refreshDashboard();
    focusViewer();
  } catch (error) {
    status.textContent = `Could not read ${file.name}: ${error.message}`;
    status.classList.add("error");
  } finally {
    $("drop").classList.remove("busy");
  }
}

function wireUpload() {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => {
    if (input.files[0]) readFile(input.files[0]);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) readFile(file);
  });
  // A file dropped beside the drop zone must not make the browser navigate away.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  window.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files || [])].find((item) => item.type.startsWith("image/"));
    if (file) readFile(file);
  });
}

// ---------------------------------------------------------------- what the dashboard tells the rest

function onDashboard(data) {
  $("recent").replaceChildren(...data.recent.map(recentItem));
  $("no-recent").hidden = data.recent.length > 0;
  markCurrent();
  const folders = $("search-form").elements.folder;
  for (const { folder } of data.folders) {
    if (folder !== null && !folders.querySelector(`option[value="${CSS.escape(folder)}"]`)) {
      folders.append(el("option", { value: folder, text: folder }));
    }
  }
  const total = (status) => data.folders.reduce((sum, folder) => sum + folder.counts[status], 0);
  const done = total("done") + total("duplicate");
  const queue = total("queued") + total("processing");
  const parts = [`${plural(done, "file")} indexed`];
  if (queue) parts.push(`${queue} in the queue`);
  if (total("failed")) parts.push(`${total("failed")} failed`);
  $("stats").textContent = parts.join(" · ");
}

// ---------------------------------------------------------------- start

// Links of earlier releases (#/documents/ID?page=N) still open their document.
const legacy = location.hash.match(/^#\/documents\/(\d+)(?:\?page=(\d+))?$/);
if (legacy) {
  state = { ...state, doc: legacy[1], page: legacy[2] || "1" };
  history.replaceState(null, "", href(state));
}
wireViewer({
  onPage: (page) => navigate({ ...state, page: String(page) }, { push: false }),
  onClose: () => navigate({ ...state, doc: "", page: "" }),
});
wireUpload();
wireSearch();
window.addEventListener("popstate", () => {
  state = parse(location.search);
  typing = false;
  render();
});
render();
startDashboard(onDashboard);
