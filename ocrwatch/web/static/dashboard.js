// The hot folder's dashboard: per watched folder its files by state and its daemon's state, the
// latest failures with a Retry button. Kept live by polling /api/dashboard every 2 s with
// If-None-Match while the tab is visible: an unchanged index answers 304, one cheap query's work.

import { authHeaders, refusal } from "./api.js";
import { $, age, basename, el, plural, toast } from "./dom.js";

const POLL_MS = 2000;
/** A running daemon writes a heartbeat every 10 s: a minute without one means it is probably gone. */
const SILENT_SECONDS = 60;

/** The ages shown ("paused for 3 min", "no heartbeat for 2 min") are redrawn this often. */
const AGES_MS = 10_000;

let etag = null;
let latest = null;
let timer = 0;
let pollSeq = 0;
let clockOffset = 0; // the server's clock minus this one, in ms
const listeners = [];
const rendered = {}; // each part's last data, as JSON: a part is redrawn only when it changed

/** Start polling; `listener(data)` is called with every changed bundle. */
export function startDashboard(listener) {
  listeners.push(listener);
  document.addEventListener("visibilitychange", () => document.hidden || refresh());
  $("failures").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-retry]");
    if (button) retry(button);
  });
  refresh();
}

/** Ask now rather than at the next tick (after a change made from this page). */
export async function refresh() {
  const mine = ++pollSeq;
  const live = $("live");
  try {
    const headers = authHeaders(etag ? { "If-None-Match": etag } : {});
    const response = await fetch("/api/dashboard", { headers, cache: "no-store" });
    if (mine !== pollSeq) return; // a later ask is under way, and carries on the polling
    if (response.status !== 304) {
      if (!response.ok) throw await refusal(response);
      latest = await response.json();
      etag = response.headers.get("ETag");
      clockOffset = Date.parse(latest.now) - Date.now();
      for (const listener of listeners) listener(latest);
    }
    show(latest); // a daemon that went silent changes nothing in the index, only its age
    live.textContent = "Live";
    live.classList.remove("off");
  } catch (error) {
    if (mine !== pollSeq) return;
    live.classList.add("off");
    if (error.status === 401 || error.status === 403) {
      live.textContent = "Not allowed: open the page with ?token=…";
      return; // asking again will not help
    }
    live.textContent = error.status ? error.message : "Cannot reach the server: trying again";
  }
  clearTimeout(timer);
  if (!document.hidden) timer = setTimeout(refresh, POLL_MS);
}

function show(data) {
  const ages = Math.floor(Date.now() / AGES_MS);
  part("folders", { folders: data.folders, daemons: data.daemons, ages }, () => showFolders(data));
  part("failures", data.failures, () => showFailures(data.failures));
}

function part(name, data, draw) {
  const json = JSON.stringify(data);
  if (rendered[name] === json) return;
  rendered[name] = json;
  draw();
}

function secondsSince(time) {
  return (Date.now() + clockOffset - Date.parse(time)) / 1000;
}

function showFolders({ folders, daemons }) {
  const byNode = new Map(daemons.map((daemon) => [daemon.node, daemon]));
  $("no-folders").hidden = folders.length > 0;
  $("folders").replaceChildren(
    ...folders.map((folder) => {
      const counts = folder.counts;
      const done = el("td", { class: "num", "data-count": "done", text: String(counts.done) });
      if (counts.duplicate) done.append(el("span", { class: "muted", text: ` +${counts.duplicate} dup.` }));
      return el(
        "tr",
        { "data-folder": folder.folder ?? "" },
        el("th", { scope: "row", class: "folder", title: folder.folder ?? "" }, folderName(folder.folder)),
        el("td", { class: "daemon" }, ...daemonStates(folder, byNode)),
        el("td", { class: "num", "data-count": "queued", text: String(counts.queued) }),
        el("td", { class: "num", "data-count": "processing", text: String(counts.processing) }),
        done,
        el("td", { class: `num${counts.failed ? " bad" : ""}`, "data-count": "failed", text: String(counts.failed) }),
      );
    }),
  );
}

function folderName(folder) {
  return folder === null ? "Scanned and uploaded" : folder;
}

function daemonStates(folder, byNode) {
  if (folder.folder === null) return [el("span", { class: "muted", text: "—" })];
  if (!folder.daemons.length) return [el("span", { class: "state none", text: "no daemon" })];
  return folder.daemons.map((node) => {
    const daemon = byNode.get(node);
    const silent = secondsSince(daemon.heartbeat_at);
    let text;
    let kind = daemon.state;
    if (daemon.state === "paused") {
      text = `paused${daemon.since ? ` for ${age(secondsSince(daemon.since))}` : ""}: ${daemon.reason}`;
    } else if (daemon.state === "stopped") {
      text = `stopped ${age(secondsSince(daemon.since))} ago`;
    } else if (silent > SILENT_SECONDS) {
      text = `no heartbeat for ${age(silent)}`;
      kind = "silent";
    } else {
      text = "running";
    }
    return el("span", { class: `state ${kind}`, title: `${daemon.node} (pid ${daemon.pid})`, text });
  });
}

function showFailures(failures) {
  $("no-failures").hidden = failures.length > 0;
  $("failures").replaceChildren(
    ...failures.map((failure) => {
      const name = basename(failure.path);
      const when = new Date(failure.updated_at).toLocaleString();
      const body = el(
        "div",
        { class: "failure-body" },
        el("span", { class: "failure-name", text: name }),
        el("span", { class: "failure-path", text: failure.path }),
        el("span", { class: "failure-reason", text: failure.error || "no reason recorded" }),
        el("span", { class: "failure-meta", text: `${when} · ${plural(failure.attempts, "attempt")}` }),
      );
      const action = failure.retry_url
        ? el("button", { type: "button", class: "button subtle", "data-retry": failure.retry_url, "aria-label": `Retry ${name}`, text: "Retry" })
        : el("span", { class: "muted small", text: failure.moved_to ? `moved to ${failure.moved_to}` : "scan or upload it again" });
      return el("li", { class: "failure", "data-id": String(failure.id) }, body, action);
    }),
  );
}

async function retry(button) {
  button.disabled = true;
  button.textContent = "Queuing…";
  try {
    const response = await fetch(button.dataset.retry, { method: "POST", headers: authHeaders() });
    if (!response.ok) throw await refusal(response);
    button.textContent = "Queued again";
    refresh();
  } catch (error) {
    button.disabled = false;
    button.textContent = "Retry";
    toast(`Cannot retry: ${error.message}`);
  }
}
