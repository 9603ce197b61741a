// The viewer: a page with every word's box drawn over it, the text beside it, and the words that
// match the search marked in both. It takes the dashboard's place while something is open.

import { withToken } from "./api.js";
import { $, el, svg, toast } from "./dom.js";

const LOW_SCORE = 0.5;

function percent(score) {
  return `${Math.round(score * 100)}%`;
}

/** What the viewer shows: the document's id (null for an upload not kept), a title, pages (words,
 * lines, image URLs), the full text, and the matches on one page ({page, words: Set of indices}). */
let view = null;
let pageNumber = 1;
let activeWord = -1;

export function showView(next, page = 1) {
  view = next;
  $("dashboard").hidden = true;
  $("viewer").hidden = false;
  $("viewer-title").textContent = view.title;
  $("doc-meta").textContent = view.meta;
  $("copy-link").hidden = view.doc === null;
  showPage(page);
}

/** The document open in the viewer and its page, or null. */
export function shown() {
  return view && view.doc !== null ? { doc: view.doc, page: pageNumber } : null;
}

export function closeViewer() {
  view = null;
  $("viewer").hidden = true;
  $("dashboard").hidden = false;
}

/** Show page `number`, marking the words of `matches` (see `view`) when they are given. */
export function showPage(number, matches = view.matches) {
  view.matches = matches;
  number = Math.min(Math.max(number, 1), view.pages.length);
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

/** `onPage(n)` when the pager turns to page n, `onClose()` when the viewer's Close is pressed. */
export function wireViewer({ onPage, onClose }) {
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
  $("prev").addEventListener("click", () => onPage(pageNumber - 1));
  $("next").addEventListener("click", () => onPage(pageNumber + 1));
  $("close").addEventListener("click", () => (view && view.doc !== null ? onClose() : closeViewer()));
  $("copy").addEventListener("click", copyText);
  $("copy-link").addEventListener("click", copyLink);
}

/** The address is the view (see address.js); the token is never in it. */
async function copyLink() {
  const button = $("copy-link");
  try {
    await navigator.clipboard.writeText(location.href);
  } catch {
    toast(`Copying was refused by the browser; the link is ${location.href}`);
    return;
  }
  button.textContent = "Link copied ✓";
  setTimeout(() => (button.textContent = "Copy link"), 1800);
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
export function focusViewer() {
  const viewer = $("viewer");
  viewer.focus({ preventScroll: true });
  if (matchMedia("(max-width: 760px)").matches) viewer.scrollIntoView({ block: "start" });
}
