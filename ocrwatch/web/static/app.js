// ocrwatch's page: read an image and see its words; search the index and open a hit.
// Plain DOM, no build step, nothing from another server. OCR text only ever reaches the page as
// text nodes (textContent, createTextNode), never as markup.

const SVG = "http://www.w3.org/2000/svg";
const LOW_SCORE = 0.5;
const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);

// A token given once as ?token=... is kept for this tab and taken out of the address bar.
const token = (() => {
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem("ocrwatch-token", given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url);
  }
  return sessionStorage.getItem("ocrwatch-token");
})();

/** An API URL with the token, for places that cannot send a header (images, links). */
function withToken(path) {
  if (!token) return path;
  const url = new URL(path, location.origin);
  url.searchParams.set("token", token);
  return url.pathname + url.search;
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...options, headers });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const reason = body && typeof body.detail === "string" ? body.detail : response.statusText;
    const error = new Error(reason || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function basename(path) {
  return path.split(/[\\/]/).pop() || path;
}

function percent(score) {
  return `${Math.round(score * 100)}%`;
}

let toastTimer = 0;
function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 6000);
}

// ---------------------------------------------------------------- the viewer

/** What the viewer shows: a title, pages (words, lines, image URLs), the full text. */
let view = null;
let pageNumber = 1;
let activeWord = -1;

function showView(next, page = 1) {
  view = next;
  $("empty").hidden = true;
  $("doc").hidden = false;
  $("viewer-title").textContent = view.title;
  $("doc-meta").textContent = view.meta;
  showPage(Math.min(Math.max(page, 1), view.pages.length));
}

function showPage(number) {
  pageNumber = number;
  const page = view.pages[number - 1];
  const count = view.pages.length;
  $("pager").hidden = count < 2;
  $("page-label").textContent = `Page ${number} of ${count}`;
  $("prev").disabled = number <= 1;
  $("next").disabled = number >= count;
  const link = $("annotated-link");
  link.hidden = !page.annotated;
  if (page.annotated) link.href = withToken(page.annotated);
  activeWord = -1;
  $("tip").hidden = true;
  drawImage(page);
  drawBoxes(page);
  drawText(page);
  const first = $("overlay").querySelector(".match");
  if (first) requestAnimationFrame(() => first.scrollIntoView({ block: "center", behavior: "smooth" }));
}

function drawImage(page) {
  const sheet = $("sheet");
  const image = $("page-image");
  sheet.classList.remove("no-image");
  image.alt = `Page ${pageNumber} of ${view.title}`;
  // The sheet keeps the page's proportions before (and without) the image, so boxes stay in place.
  sheet.style.aspectRatio = `${page.width} / ${page.height}`;
  sheet.style.maxWidth = `${Math.max(page.width, 320)}px`;
  const sources = [page.image, page.annotated].filter(Boolean);
  image.onerror = () => {
    const next = sources.shift();
    if (next) image.src = next;
    else {
      image.removeAttribute("src");
      sheet.classList.add("no-image");
    }
  };
  const first = sources.shift();
  if (first) image.src = first;
  else image.onerror();
}

function drawBoxes(page) {
  const overlay = $("overlay");
  overlay.replaceChildren();
  overlay.setAttribute("viewBox", `0 0 ${page.width} ${page.height}`);
  const matches = view.matches && view.matches.page === pageNumber ? view.matches.words : new Set();
  overlay.setAttribute(
    "aria-label",
    `${page.words.length} words found on this page` +
      (matches.size ? `, ${matches.size} matching the search` : "") +
      ". Use the arrow keys to go through them.",
  );
  page.words.forEach((word, index) => {
    const points = word.box.map(([x, y]) => `${x},${y}`).join(" ");
    const shape = svg("polygon", { points, "data-index": index, class: "word" });
    if (word.score < LOW_SCORE) shape.classList.add("low");
    if (matches.has(index)) shape.classList.add("match");
    const title = svg("title");
    title.textContent = `${word.text} — ${percent(word.score)} confident`;
    shape.append(title);
    overlay.append(shape);
    // Without the image (a format the browser cannot show), the words are written in their boxes.
    const [[x0, y0], , , [, y3]] = word.box;
    const label = svg("text", { x: x0, y: y3 - (y3 - y0) * 0.2, class: "word-text" });
    label.setAttribute("font-size", Math.max(6, (y3 - y0) * 0.75));
    label.textContent = word.text;
    overlay.append(label);
  });
}

function drawText(page) {
  const matches = view.matches && view.matches.page === pageNumber ? view.matches.words : new Set();
  const box = $("text");
  box.replaceChildren();
  for (const line of page.lines) {
    const row = el("p", { class: "line" });
    line.words.forEach((index, position) => {
      const word = page.words[index];
      if (!word) return;
      if (position) row.append(" ");
      const span = el("span", { class: "w", "data-index": index, text: word.text });
      if (word.score < LOW_SCORE) span.classList.add("low");
      if (matches.has(index)) span.classList.add("match");
      row.append(span);
    });
    if (!line.words.length) row.textContent = line.text;
    box.append(row);
  }
  if (!page.lines.length) box.append(el("p", { class: "muted", text: "No text was found on this page." }));
}

function setActive(index, announce = false) {
  const overlay = $("overlay");
  for (const node of document.querySelectorAll(".active")) node.classList.remove("active");
  activeWord = index;
  const page = view && view.pages[pageNumber - 1];
  const tip = $("tip");
  if (!page || index < 0 || index >= page.words.length) {
    tip.hidden = true;
    return;
  }
  const word = page.words[index];
  overlay.querySelector(`polygon[data-index="${index}"]`)?.classList.add("active");
  const span = $("text").querySelector(`[data-index="${index}"]`);
  span?.classList.add("active");
  const xs = word.box.map(([x]) => x);
  const ys = word.box.map(([, y]) => y);
  tip.replaceChildren(el("strong", { text: word.text }), el("span", { text: `${percent(word.score)} confident` }));
  tip.classList.toggle("low", word.score < LOW_SCORE);
  tip.style.left = `${(Math.min(...xs) / page.width) * 100}%`;
  tip.style.top = `${(Math.max(...ys) / page.height) * 100}%`;
  tip.hidden = false;
  if (announce) {
    $("word-live").textContent = `${word.text}, ${percent(word.score)} confident, word ${index + 1} of ${page.words.length}`;
    overlay.querySelector(`polygon[data-index="${index}"]`)?.scrollIntoView({ block: "nearest" });
  }
}

function wireViewer() {
  const overlay = $("overlay");
  overlay.addEventListener("pointerover", (event) => {
    const index = event.target.dataset?.index;
    if (index !== undefined) setActive(Number(index));
  });
  overlay.addEventListener("pointerleave", () => {
    if (document.activeElement !== overlay) setActive(-1);
  });
  $("text").addEventListener("pointerover", (event) => {
    const index = event.target.dataset?.index;
    if (index !== undefined) setActive(Number(index));
  });
  $("text").addEventListener("pointerleave", () => setActive(-1));
  overlay.addEventListener("focus", () => {
    const first = overlay.querySelector(".match");
    setActive(first ? Number(first.dataset.index) : 0, true);
  });
  overlay.addEventListener("blur", () => setActive(-1));
  overlay.addEventListener("keydown", (event) => {
    const count = view ? view.pages[pageNumber - 1].words.length : 0;
    if (!count) return;
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next = activeWord;
    if (event.key in moves) next = Math.min(count - 1, Math.max(0, activeWord + moves[event.key]));
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = count - 1;
    else return;
    event.preventDefault();
    setActive(next, true);
  });
  $("boxes").addEventListener("change", (event) => $("sheet").classList.toggle("bare", !event.target.checked));
  $("prev").addEventListener("click", () => showPage(pageNumber - 1));
  $("next").addEventListener("click", () => showPage(pageNumber + 1));
  $("copy").addEventListener("click", copyText);
}

async function copyText() {
  const text = view ? view.text : "";
  const button = $("copy");
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Plain http beyond localhost has no clipboard API: select the text for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents($("text"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    if (!document.execCommand("copy")) {
      toast("Copying was refused by the browser: the text is selected, press Ctrl+C.");
      return;
    }
  }
  button.textContent = "Copied ✓";
  setTimeout(() => (button.textContent = "Copy text"), 1800);
}

/** Move focus to the viewer; on a phone, where it sits below the lists, scroll to it too. */
function focusViewer() {
  const viewer = $("viewer");
  viewer.focus({ preventScroll: true });
  if (matchMedia("(max-width: 760px)").matches) viewer.scrollIntoView({ block: "start" });
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
      `Read ${words} word${words === 1 ? "" : "s"} on ${result.pages.length} page${result.pages.length === 1 ? "" : "s"} in ${result.seconds.toFixed(1)} s` +
      (result.document_id ? (result.status === "done" ? " · added to the index" : " · already in the index") : "");
    const local = URL.createObjectURL(file);
    const isImage = file.type.startsWith("image/") && !/tiff/.test(file.type);
    const docPages = result.document_id ? (await api(`/api/documents/${result.document_id}`)).pages : null;
    showView({
      title: file.name || "Pasted image",
      meta: `${words} words · ${result.engine} ${result.engine_version}` + (result.document_id ? ` · document ${result.document_id}` : ""),
      text: result.text,
      pages: result.pages.map((page, i) => ({
        ...page,
        image: docPages ? withToken(docPages[i].image_url) : i === 0 && isImage ? local : null,
        annotated: docPages ? docPages[i].annotated_url : null,
      })),
      matches: null,
    });
    if (keep) refreshStats();
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

// ---------------------------------------------------------------- search

let hits = [];
let searchController = null;
let searchTimer = 0;
let lastQuery = "";

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

async function search(query, offset = 0) {
  searchController?.abort();
  const card = $("results-card");
  const list = $("results");
  const count = $("result-count");
  if (!query.trim()) {
    card.hidden = true;
    hits = [];
    return;
  }
  card.hidden = false;
  searchController = new AbortController();
  const params = new URLSearchParams({ q: asTyped(query), limit: PAGE_SIZE, offset, ...filters() });
  try {
    const result = await api(`/api/search?${params}`, { signal: searchController.signal });
    lastQuery = query;
    if (offset === 0) {
      hits = [];
      list.replaceChildren();
    }
    hits.push(...result.hits);
    result.hits.forEach((hit) => list.append(hitItem(hit)));
    const more = result.hits.length === PAGE_SIZE;
    $("more").hidden = !more;
    count.classList.remove("error");
    count.textContent = hits.length
      ? `${hits.length}${more ? "+" : ""} ${hits.length === 1 && !more ? "page matches" : "pages match"} “${query.trim()}”`
      : `Nothing indexed matches “${query.trim()}”.`;
  } catch (error) {
    if (error.name === "AbortError") return;
    list.replaceChildren();
    $("more").hidden = true;
    count.classList.add("error");
    count.textContent = error.message;
  }
}

/** The filters set in the results card, as query parameters of /api/search. */
function filters() {
  const chosen = { sort: $("sort").value };
  for (const name of ["type", "folder", "after", "before"]) {
    const value = $(name).value.trim();
    if (value) chosen[name] = value;
  }
  if ($("exact").checked) chosen.exact = "true";
  return chosen;
}

function hitItem(hit) {
  const link = el("a", { class: "hit", href: `#/documents/${hit.document_id}?page=${hit.page}` });
  const thumb = el("img", { class: "thumb", alt: "", loading: "lazy", src: withToken(hit.thumbnail_url) });
  thumb.addEventListener("error", () => thumb.classList.add("missing"));
  const snippet = el("p", { class: "snippet" });
  for (const segment of hit.snippet) {
    snippet.append(segment.match ? el("mark", { text: segment.text }) : document.createTextNode(segment.text));
  }
  const title = el("span", { class: "hit-title", text: basename(hit.path), title: hit.path });
  const close = hit.fuzzy ? " · a close match: the marked words are read a letter or two off" : "";
  const meta = el("span", { class: "hit-meta", text: `page ${hit.page} · ${hit.words.length} matching word${hit.words.length === 1 ? "" : "s"}${close}` });
  link.append(thumb, el("span", { class: "hit-body" }, title, meta, snippet));
  link.addEventListener("click", () => {
    for (const node of document.querySelectorAll(".hit[aria-current]")) node.removeAttribute("aria-current");
    link.setAttribute("aria-current", "true");
    if (location.hash === link.hash) route(); // the same hit again: no hashchange
  });
  return el("li", {}, link);
}

function wireSearch() {
  const input = $("q");
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => search(input.value), 250);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(searchTimer);
    search(input.value);
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
  $("more").addEventListener("click", () => search(lastQuery, hits.length));
  $("filters").addEventListener("change", () => search(input.value));
}

// ---------------------------------------------------------------- opening a document (#/documents/ID?page=N)

async function route() {
  const match = location.hash.match(/^#\/documents\/(\d+)(?:\?page=(\d+))?$/);
  if (!match) return;
  const id = Number(match[1]);
  const page = Number(match[2] || 1);
  try {
    const doc = await api(`/api/documents/${id}`);
    const hit = hits.find((item) => item.document_id === id && item.page === page);
    showView(
      {
        title: basename(doc.paths[0]),
        meta: `document ${doc.id} · ${doc.pages.length} page${doc.pages.length === 1 ? "" : "s"} · read ${new Date(doc.created_at).toLocaleString()}`,
        text: doc.text,
        pages: doc.pages.map((p) => ({ ...p, image: withToken(p.image_url), annotated: withToken(p.annotated_url) })),
        matches: hit ? { page, words: new Set(hit.words.map((word) => word.index)) } : null,
      },
      page,
    );
    focusViewer();
  } catch (error) {
    toast(`Cannot open document ${id}: ${error.message}`);
  }
}

// ---------------------------------------------------------------- stats

async function refreshStats() {
  try {
    const stats = await api("/api/stats");
    const done = stats.counts.done + stats.counts.duplicate;
    const parts = [`${done} file${done === 1 ? "" : "s"} indexed`];
    if (stats.queue) parts.push(`${stats.queue} in the queue`);
    if (stats.counts.failed) parts.push(`${stats.counts.failed} failed`);
    $("stats").textContent = parts.join(" · ");
  } catch (error) {
    $("stats").textContent = error.status === 401 || error.status === 403 ? "Not allowed: open the page with ?token=…" : "";
  }
}

wireViewer();
wireUpload();
wireSearch();
window.addEventListener("hashchange", route);
route();
refreshStats();
setInterval(() => document.visibilityState === "visible" && refreshStats(), 15000);
