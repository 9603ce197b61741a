// Talking to the API: the token (given once as ?token=..., kept for this tab), JSON calls whose
// refusals become errors carrying the server's reason.

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
export function withToken(path) {
  if (!token) return path;
  const url = new URL(path, location.origin);
  url.searchParams.set("token", token);
  return url.pathname + url.search;
}

/** Request headers with the token, for calls made with fetch itself. */
export function authHeaders(headers = {}) {
  const all = new Headers(headers);
  if (token) all.set("Authorization", `Bearer ${token}`);
  return all;
}

/** An error for a refused answer: the server's reason, and its status. */
export async function refusal(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const reason = body && typeof body.detail === "string" ? body.detail : response.statusText;
  const error = new Error(reason || `HTTP ${response.status}`);
  error.status = response.status;
  return error;
}

export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers) });
  if (!response.ok) throw await refusal(response);
  return response.json();
}
