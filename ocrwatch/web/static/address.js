// The view lives in the address bar (?q=total&doc=12&page=1), so a link reopens the same view and
// Back and Forward step through what was looked at.
//
// SEARCH_PARAMS go to /api/search exactly as they stand in the address bar, and each is read from and
// written to the search form's control of the same name: supporting another search parameter is one
// more name here (and its control in index.html).

export const SEARCH_PARAMS = ["q", "after", "before", "folder", "type", "sort", "exact"];
const VIEW_PARAMS = ["doc", "page"];
const PARAMS = [...SEARCH_PARAMS, ...VIEW_PARAMS];

/** The state an address's query string holds: each known parameter that has a value. */
export function parse(search) {
  const params = new URLSearchParams(search);
  const state = {};
  for (const name of PARAMS) {
    const value = params.get(name);
    if (value) state[name] = value;
  }
  return state;
}

/** The state of `values` (an object): each known parameter that has a value. */
export function pick(values) {
  return Object.fromEntries(PARAMS.filter((name) => values[name]).map((name) => [name, String(values[name])]));
}

/** The page's own address for `state`. */
export function href(state) {
  const params = new URLSearchParams();
  for (const name of PARAMS) if (state[name]) params.set(name, state[name]);
  const query = params.toString();
  return query ? `${location.pathname}?${query}` : location.pathname;
}

/** Put `state` in the address bar: a new history entry (`push`), or in place of the current one. */
export function save(state, push) {
  const next = href(state);
  if (next === location.pathname + location.search) return;
  if (push) history.pushState(null, "", next);
  else history.replaceState(null, "", next);
}

/** The search part of `state`, as the API takes it. */
export function searchParams(state) {
  const params = new URLSearchParams();
  for (const name of SEARCH_PARAMS) if (state[name]) params.set(name, state[name]);
  return params;
}

/** The filters set (the search parameters other than q). */
export function filterCount(state) {
  return SEARCH_PARAMS.filter((name) => name !== "q" && state[name]).length;
}

/** The search parameters that choose which pages pass, without words: `sort` and `exact` only order
 * and widen what words find, so alone they are no search (the API refuses it). */
export const FILTER_PARAMS = ["after", "before", "folder", "type"];

/** Whether `state` sets a filter, so that an empty query lists what passes it, newest read first. */
export function hasFilters(state) {
  return FILTER_PARAMS.some((name) => state[name]);
}
