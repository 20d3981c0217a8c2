// The store front: browse and search the catalogue, open a film (facts, availability, AI
// summary), rent a copy, see a customer's rentals and return them; staff sign in through
// POST /token (the token lives in this tab's sessionStorage only). "Ask the store" is a
// conversation kept for the tab: each question streams /ai/handoff (SSE over fetch, with Stop)
// with the earlier turns; store questions are answered from the catalogue, others by the
// model, token by token. No dependencies, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "pagila.token";
const PAGE_SIZE = 10;
const RENTALS_PAGE_SIZE = 10;

// -- talking to the API ------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status, type) {
    super(message);
    this.status = status;
    this.type = type; // the problem's kind: branch on it, never on the text
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

// Errors are problem details (RFC 9457): `type` says what kind, `detail` what happened, and a
// 422 lists its fields in `errors`.
async function problemOf(response) {
  try {
    return await response.json();
  } catch (_) {
    return {}; // not JSON (a proxy's page, say)
  }
}

function detailOf(problem) {
  if (Array.isArray(problem.errors)) {
    return problem.errors.map((d) => `${d.loc ? d.loc[d.loc.length - 1] + ": " : ""}${d.msg}`).join("; ");
  }
  return typeof problem.detail === "string" ? problem.detail : "";
}

// What went wrong, in words a person can act on (never a bare status code).
function explain(response, problem) {
  const detail = detailOf(problem);
  const retry = response.headers.get("Retry-After");
  const later = retry ? ` Please try again in ${retry} seconds.` : " Please try again shortly.";
  const reference = response.headers.get("X-Request-ID");
  switch (response.status) {
    case 401:
      return "You are not signed in as staff, or your sign-in has expired: sign in and try again.";
    case 404:
      return detail || "That no longer exists.";
    case 409:
      return problem.type === "/problems/copy-is-out"
        ? `Someone else has just rented that copy (${detail})`
        : `Not possible: ${detail}`;
    case 422:
      return `Please check what you entered: ${detail}`;
    case 429:
      return `Too many attempts.${later}`;
    case 502:
    case 504:
      return `The assistant could not answer this time.${later}`;
    case 503: // the detail names what is down (the database, the language model)
      return `Temporarily unavailable: ${detail || "a service the store needs is down."}${later}` +
        (reference ? ` Reference: ${reference}.` : "");
    default:
      return `Something went wrong on our side.${later}` + (reference ? ` Reference: ${reference}.` : "");
  }
}

async function api(path, { method = "GET", body, form, auth = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (form !== undefined) {
    payload = new URLSearchParams(form);
  }
  if (auth && token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("Cannot reach the store's server: check your connection and try again.", 0);
  }
  if (!response.ok) {
    if (response.status === 401 && auth) signInAgain();
    const problem = await problemOf(response);
    throw new ApiError(explain(response, problem), response.status, problem.type);
  }
  return response.status === 204 ? null : response.json();
}

function show(box, message) {
  box.textContent = message;
  box.hidden = false;
}

function hide(...boxes) {
  for (const box of boxes) box.hidden = true;
}

function money(value) {
  return `$${Number(value).toFixed(2)}`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

// -- staff sign-in -----------------------------------------------------------------------------

const WHO_KEY = "pagila.who"; // who signed in, and when their token expires (ms)

function setSignedIn(signedIn, result) {
  const wasSignedIn = sessionStorage.getItem(TOKEN_KEY) !== null;
  if (signedIn && result) {
    sessionStorage.setItem(TOKEN_KEY, result.access_token);
    sessionStorage.setItem(WHO_KEY, JSON.stringify({
      name: result.name, store: result.store_id, expiresAt: Date.now() + result.expires_in * 1000,
    }));
  }
  if (!signedIn) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(WHO_KEY);
  }
  // Staff's answers may hold customers' data: a guest neither sees them nor sends them back.
  if (!signedIn && wasSignedIn) $("new-chat").click();
  const who = JSON.parse(sessionStorage.getItem(WHO_KEY) || "null");
  $("signed-in-as").textContent = who ? `Signed in as ${who.name} (store ${who.store})` : "Signed in as staff";
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
  $("rentals-panel").hidden = !signedIn; // a customer's rentals are for staff only
  $("sign-in-form").hidden = true;
  watchExpiry(who);
}

// A token lives ACCESS_TOKEN_TTL_S (30 minutes by default): when it runs out the page says so
// and offers the sign-in form again, rather than failing at the next click.
let expiryTimer = null;

function watchExpiry(who) {
  clearTimeout(expiryTimer);
  if (!who) return;
  expiryTimer = setTimeout(() => signInAgain(), Math.max(0, who.expiresAt - Date.now()));
}

function signInAgain() {
  if (!token()) return;
  setSignedIn(false);
  show($("sign-in-error"), "Your sign-in has expired: please sign in again.");
  $("signed-out").hidden = true;
  $("sign-in-form").hidden = false;
  $("username").focus();
}

$("sign-in-open").addEventListener("click", () => {
  $("signed-out").hidden = true;
  $("sign-in-form").hidden = false;
  $("username").focus();
});

$("sign-in-cancel").addEventListener("click", () => {
  setSignedIn(Boolean(token()));
  hide($("sign-in-error"));
  $("sign-in-open").focus();
});

$("sign-in-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const errorBox = $("sign-in-error");
  hide(errorBox);
  try {
    const result = await api("/token", {
      method: "POST",
      form: { username: $("username").value, password: $("password").value },
    });
    $("password").value = "";
    setSignedIn(true, result);
    $("sign-out").focus();
  } catch (err) {
    show(errorBox, err.status === 401 ? "Wrong user name or password." : err.message);
  }
});

$("sign-out").addEventListener("click", () => {
  setSignedIn(false);
  $("sign-in-open").focus();
});

// -- the catalogue -----------------------------------------------------------------------------

const search = { offset: 0, total: 0, controller: null };

function searchParams() {
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset: search.offset });
  const q = $("q").value.trim();
  if (q) params.set("q", q);
  if ($("category").value) params.set("category", $("category").value);
  if ($("rating").value) params.set("rating", $("rating").value);
  if ($("streaming").checked) params.set("streaming", "true");
  return params;
}

function cell(row, text, label, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (label) td.dataset.label = label;
  if (className) td.className = className;
  return td;
}

function showResults(page) {
  const rows = $("results").tBodies[0];
  rows.replaceChildren();
  for (const film of page.items) {
    const row = rows.insertRow();
    row.dataset.filmId = film.film_id;
    const title = row.insertCell();
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = film.title;
    open.addEventListener("click", () => openFilm(film.film_id));
    title.append(open);
    if (film.streaming_available) {
      const badge = document.createElement("span");
      badge.className = "badge yes";
      badge.textContent = "streams";
      title.append(" ", badge);
    }
    cell(row, film.category || "—", "Category");
    cell(row, film.rating || "not rated", "Rating");
    cell(row, film.length ? `${film.length} min` : "—", "Length", "num");
    cell(row, money(film.rental_rate), "Price", "num");
  }
  search.total = page.total;
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  $("page-info").textContent = page.total ? `${first}–${last} of ${page.total}` : "";
  $("results-status").textContent = page.total
    ? `${page.total} film${page.total === 1 ? "" : "s"} found.`
    : "No films match: try fewer or other words.";
  $("prev-page").disabled = page.offset === 0;
  $("next-page").disabled = last >= page.total;
}

async function runSearch() {
  if (search.controller) search.controller.abort(); // only the latest search may show
  const controller = (search.controller = new AbortController());
  hide($("catalogue-error"));
  $("results-status").textContent = "Searching…";
  try {
    showResults(await api(`/films?${searchParams()}`, { signal: controller.signal }));
  } catch (err) {
    if (err.name === "AbortError") return;
    $("results-status").textContent = "";
    show($("catalogue-error"), err.message);
  }
}

function newSearch() {
  search.offset = 0;
  runSearch();
}

let typing = null;
$("q").addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(newSearch, 300);
});
$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  clearTimeout(typing);
  newSearch();
});
for (const id of ["category", "rating", "streaming"]) $(id).addEventListener("change", newSearch);
$("prev-page").addEventListener("click", () => {
  search.offset = Math.max(0, search.offset - PAGE_SIZE);
  runSearch();
});
$("next-page").addEventListener("click", () => {
  search.offset += PAGE_SIZE;
  runSearch();
});

async function loadCategories() {
  try {
    for (const category of await api("/categories")) {
      const option = document.createElement("option");
      option.value = category.name;
      option.textContent = `${category.name} (${category.films})`;
      $("category").append(option);
    }
  } catch (err) {
    show($("catalogue-error"), err.message);
  }
}

// -- a film: facts, availability, rent, summary ------------------------------------------------

const current = { filmId: null, availability: null, controller: null };

function fact(list, name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

function showFilm(film) {
  $("film-title").textContent = film.title;
  $("film-description").textContent = film.description || "";
  const facts = $("film-facts");
  facts.replaceChildren();
  fact(facts, "Category", film.category || "—");
  fact(facts, "Rating", film.rating || "not rated");
  fact(facts, "Length", film.length ? `${film.length} minutes` : "—");
  fact(facts, "Released", film.release_year || "—");
  fact(facts, "Price", `${money(film.rental_rate)} per rental`);
  fact(facts, "Streaming", film.streaming_available ? "available" : "not available");
}

function showAvailability(availability) {
  current.availability = availability;
  const rows = $("availability").tBodies[0];
  rows.replaceChildren();
  const stores = $("rent-store");
  const chosen = stores.value;
  stores.replaceChildren();
  for (const store of availability.stores) {
    const row = rows.insertRow();
    cell(row, `Store ${store.store_id} · ${store.address}`);
    cell(row, `${store.in_stock} of ${store.copies} in`);
    const option = document.createElement("option");
    option.value = store.store_id;
    option.textContent = `Store ${store.store_id} (${store.in_stock} in)`;
    option.disabled = store.in_stock === 0;
    stores.append(option);
  }
  if (availability.stores.length === 0) {
    const row = rows.insertRow();
    cell(row, "No store has a copy of this film.");
    cell(row, "");
  }
  const firstIn = availability.stores.find((s) => s.in_stock > 0);
  if ([...stores.options].some((o) => o.value === chosen && !o.disabled)) stores.value = chosen;
  else if (firstIn) stores.value = String(firstIn.store_id);
  $("rent-button").disabled = !firstIn;
}

async function refreshAvailability() {
  const filmId = current.filmId;
  if (filmId === null) return;
  const availability = await api(`/films/${filmId}/availability`);
  if (current.filmId === filmId) showAvailability(availability);
}

function setFilmActions(enabled) {
  $("rent-button").disabled = !enabled;
  $("summary-button").disabled = !enabled;
}

async function openFilm(filmId) {
  if (current.controller) current.controller.abort(); // only the latest film may show
  const controller = (current.controller = new AbortController());
  current.filmId = filmId;
  current.availability = null;
  setFilmActions(false); // nothing acts on a film until it is on screen
  hide($("film-error"), $("rent-result"), $("summary-error"), $("summary-card"));
  for (const row of $("results").tBodies[0].rows) {
    row.classList.toggle("selected", row.dataset.filmId === String(filmId));
  }
  try {
    const [film, availability] = await Promise.all([
      api(`/films/${filmId}`, { signal: controller.signal }),
      api(`/films/${filmId}/availability`, { signal: controller.signal }),
    ]);
    showFilm(film);
    showAvailability(availability);
    $("summary-button").disabled = false;
    $("film-panel").hidden = false;
    $("film-title").focus();
  } catch (err) {
    if (err.name === "AbortError") return;
    $("film-title").textContent = "This film could not be shown";
    $("film-description").textContent = "";
    $("film-facts").replaceChildren();
    $("availability").tBodies[0].replaceChildren();
    $("film-panel").hidden = false;
    show($("film-error"), err.message);
  }
}

$("rent-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const errorBox = $("film-error");
  hide(errorBox, $("rent-result"));
  if (!token()) {
    show(errorBox, "Only staff can rent: sign in first (top of the page).");
    return;
  }
  const film = current.availability;
  const store = film && film.stores.find((s) => String(s.store_id) === $("rent-store").value);
  if (!store || store.in_stock === 0) {
    show(errorBox, "No copy is on the shelf in that store: choose another store.");
    return;
  }
  const customerId = Number($("rent-customer").value);
  const copy = store.available_inventory_ids[0]; // the page chooses a free copy
  let outcome = errorBox;
  $("rent-button").disabled = true;
  try {
    const rental = await api(`/customers/${customerId}/rentals`, {
      method: "POST",
      body: { inventory_id: copy }, // recorded as the signed-in member of staff's
      auth: true,
    });
    show($("rent-result"),
      `Rented: copy ${rental.inventory_id} of ${film.title} to customer ${customerId} (rental ${rental.rental_id}).`);
    outcome = $("rent-result");
    $("rentals-customer").value = customerId;
    loadRentals(customerId, 0);
  } catch (err) {
    show(errorBox, err.type === "/problems/copy-is-out"
      ? `${err.message} The shelf below is up to date again: please try again.`
      : err.message);
  }
  try {
    if (current.filmId === film.film_id) await refreshAvailability();
  } catch (err) {
    show(errorBox, err.message);
    $("rent-button").disabled = false;
  }
  outcome.focus(); // the button may have been disabled under the keyboard's focus
});

$("summary-button").addEventListener("click", async () => {
  const button = $("summary-button");
  hide($("summary-error"), $("summary-card"));
  button.disabled = true;
  button.textContent = "Summarising…";
  try {
    const film = await api("/ai/summary", { method: "POST", body: { film_id: current.filmId } });
    $("card-rating").textContent = `Rated ${film.rating}`;
    const rec = $("card-recommended");
    rec.textContent = film.recommended ? "Recommended" : "Not recommended";
    rec.className = film.recommended ? "badge yes" : "badge";
    $("card-summary").textContent = film.summary;
    $("summary-card").hidden = false;
  } catch (err) {
    show($("summary-error"), err.message);
  } finally {
    button.disabled = false;
    button.textContent = "Summarise with AI";
  }
});

// -- a customer's rentals ----------------------------------------------------------------------

const rentals = { customerId: null, offset: 0, controller: null };

function showRentals(page, notice) {
  const table = $("rentals");
  const rows = table.tBodies[0];
  rows.replaceChildren();
  for (const rental of page.items) {
    const row = rows.insertRow();
    row.dataset.rentalId = rental.rental_id;
    cell(row, rental.title, "Film");
    cell(row, when(rental.rental_date), "Rented");
    cell(row, rental.return_date ? when(rental.return_date) : "not yet", "Returned");
    const action = row.insertCell();
    if (!rental.return_date) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = "Return";
      button.setAttribute("aria-label", `Return ${rental.title}`);
      button.addEventListener("click", () => returnRental(rental, button));
      action.append(button);
    }
  }
  table.hidden = page.items.length === 0;
  const open = page.items.filter((r) => !r.return_date).length;
  $("rentals-status").textContent = (notice ? `${notice} ` : "") + (page.total
    ? `Customer ${rentals.customerId}: ${page.total} rental${page.total === 1 ? "" : "s"}` +
      (open ? `, ${open} not returned on this page.` : ".")
    : `Customer ${rentals.customerId} has not rented anything yet.`);
  const last = page.offset + page.items.length;
  $("rentals-page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "";
  $("rentals-prev").disabled = page.offset === 0;
  $("rentals-next").disabled = last >= page.total;
}

async function loadRentals(customerId, offset, notice) {
  if (rentals.controller) rentals.controller.abort(); // only the latest list may show
  const controller = (rentals.controller = new AbortController());
  rentals.customerId = customerId;
  rentals.offset = offset;
  hide($("rentals-error"));
  try {
    const params = new URLSearchParams({ limit: RENTALS_PAGE_SIZE, offset });
    const page = await api(`/customers/${customerId}/rentals?${params}`, {
      signal: controller.signal, auth: true,
    });
    showRentals(page, notice);
  } catch (err) {
    if (err.name === "AbortError") return;
    $("rentals-prev").disabled = $("rentals-next").disabled = true;
    $("rentals-page-info").textContent = "";
    $("rentals").hidden = true;
    $("rentals-status").textContent = "";
    show($("rentals-error"), err.message);
  }
}

async function returnRental(rental, button) {
  hide($("rentals-error"));
  if (!token()) {
    show($("rentals-error"), "Only staff can take a copy back: sign in first (top of the page).");
    return;
  }
  button.disabled = true;
  let notice;
  try {
    await api(`/rentals/${rental.rental_id}/return`, { method: "PUT", auth: true });
    notice = `Returned: ${rental.title}.`;
  } catch (err) {
    show($("rentals-error"), err.message);
  }
  await loadRentals(rentals.customerId, rentals.offset, notice);
  $("rentals-status").focus(); // the Return button is gone with the list it was in
  if (current.filmId === rental.film_id) {
    refreshAvailability().catch((err) => show($("film-error"), err.message));
  }
}

$("rentals-form").addEventListener("submit", (e) => {
  e.preventDefault();
  loadRentals(Number($("rentals-customer").value), 0);
});
$("rentals-prev").addEventListener("click", () =>
  loadRentals(rentals.customerId, Math.max(0, rentals.offset - RENTALS_PAGE_SIZE)));
$("rentals-next").addEventListener("click", () =>
  loadRentals(rentals.customerId, rentals.offset + RENTALS_PAGE_SIZE));

// -- the assistant -----------------------------------------------------------------------------

// The conversation, oldest first, one exchange per question, kept for this tab (sessionStorage):
// {question, state, answer, result}. `state` is "answering", "done" (`result`: the done event's
// whole answer), "stopped" or "failed" (`answer`: what had been written by then).
const CHAT_KEY = "pagila.chat";
// What /ai/handoff takes of the earlier turns: the last 20 messages, each of at most 4000
// characters (after trimming), 24000 in all.
const HISTORY_MESSAGES = 20;
const HISTORY_CHARS = 4000;
const HISTORY_TOTAL_CHARS = 24000;
const chat = { exchanges: [], controller: null, following: true };

const AGENTS = { search: "the store", general: "the general assistant" };
// What the store looked in, in a customer's words (never the tools' internal names).
const LOOKED_IN = { customer_rentals: "customer records", film_renters: "customer records" };

function finished(result) {
  return Boolean(result) && typeof result.answer === "string" &&
    Array.isArray(result.films) && Array.isArray(result.tool_calls);
}

function loadChat() {
  let saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(CHAT_KEY) || "[]");
  } catch (_) {
    return []; // unreadable: start afresh
  }
  if (!Array.isArray(saved)) return [];
  return saved
    .filter((x) => x && typeof x.question === "string")
    .map((x) => {
      const done = x.state === "done" && finished(x.result);
      return {
        question: x.question,
        answer: typeof x.answer === "string" ? x.answer : "",
        // An answer still being written when the page went away did not finish.
        state: done ? "done" : x.state === "failed" ? "failed" : "stopped",
        result: done ? x.result : null,
      };
    });
}

function saveChat() {
  try {
    if (chat.exchanges.length) sessionStorage.setItem(CHAT_KEY, JSON.stringify(chat.exchanges));
    else sessionStorage.removeItem(CHAT_KEY);
  } catch (_) { /* storage full or turned off: the thread lives on screen only */ }
}

// Characters as the API counts them (code points, not UTF-16 halves).
function chars(text) {
  return Array.from(text);
}

function clip(text) {
  const trimmed = text.trim();
  if (trimmed.length <= HISTORY_CHARS) return trimmed;
  return chars(trimmed).slice(0, HISTORY_CHARS).join("").trim();
}

// The earlier turns, OpenAI-style, oldest first: finished exchanges only (a stopped or failed
// answer is left out, and its question with it), the newest that the API takes.
function history() {
  const kept = [];
  let total = 0;
  for (const x of [...chat.exchanges].reverse()) {
    if (x.state !== "done") continue;
    const question = clip(x.question);
    const answer = clip(x.result.answer);
    if (!question || !answer) continue; // nothing to send back
    const size = chars(question).length + chars(answer).length;
    if (kept.length + 2 > HISTORY_MESSAGES || total + size > HISTORY_TOTAL_CHARS) break;
    kept.unshift({ role: "user", content: question }, { role: "assistant", content: answer });
    total += size;
  }
  return kept;
}

// Yields {event, data} for each SSE event in a fetch() body.
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") event = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// POST /ai/handoff as SSE with the earlier turns: `onText` gets the text as it is written;
// resolves to the whole answer with its films.
async function askStore(question, messages, signal, onText) {
  const headers = { Accept: "text/event-stream", "Content-Type": "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const body = messages.length ? { question, history: messages } : { question };
  let response;
  try {
    response = await fetch("/ai/handoff", {
      method: "POST", headers, body: JSON.stringify(body), signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("Cannot reach the store's server: check your connection and try again.", 0);
  }
  if (response.status === 401) signInAgain();
  if (!response.ok) {
    const problem = await problemOf(response);
    throw new ApiError(explain(response, problem), response.status, problem.type);
  }
  $("ask-status").textContent = "Answering…";
  for await (const { event, data } of sseEvents(response.body)) {
    if (event === "message") onText(data.delta);
    else if (event === "error") throw new Error(data.message);
    else if (event === "done") return data;
  }
  throw new Error("The answer was cut off before the end: please ask again.");
}

// -- the thread --

function bubble(role, label) {
  const li = document.createElement("li");
  li.className = `turn ${role}`;
  const who = document.createElement("span");
  who.className = "sr-only";
  who.textContent = `${label}: `;
  li.append(who);
  return li;
}

function userBubble(question) {
  const li = bubble("user", "You");
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = question;
  li.append(text);
  return li;
}

function assistantBubble() {
  const li = bubble("assistant", "Store");
  const answer = document.createElement("div");
  answer.className = "answer text";
  li.append(answer);
  return li;
}

// A button that opens a film's panel, for each film an answer names.
function filmLink(film, text) {
  const link = document.createElement("button");
  link.type = "button";
  link.className = "link";
  link.textContent = text;
  link.addEventListener("click", () => openFilm(film.film_id));
  return link;
}

// The answer's text, with every title of `films` in it turned into a link to that film.
function renderAnswer(box, answer, films) {
  box.replaceChildren();
  const titles = films.map((f) => f.title).sort((a, b) => b.length - a.length);
  if (!titles.length) { box.textContent = answer; return; }
  const escaped = titles.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`\\b(${escaped.join("|")})\\b`, "gi");
  let last = 0;
  for (const match of answer.matchAll(pattern)) {
    box.append(answer.slice(last, match.index));
    const film = films.find((f) => f.title.toLowerCase() === match[0].toLowerCase());
    box.append(filmLink(film, match[0]));
    last = match.index + match[0].length;
  }
  box.append(answer.slice(last));
}

// A finished answer in its bubble: the text with its films as links, who answered, where the
// store looked, and a table of the films it names (each opens the film's panel).
function showHandoff(li, result) {
  renderAnswer(li.querySelector(".answer"), result.answer, result.films);
  const meta = document.createElement("p");
  meta.className = "meta";
  const agent = document.createElement("span");
  agent.className = "badge agent";
  agent.textContent = AGENTS[result.agent] || result.agent;
  const tools = document.createElement("span");
  tools.className = "tools";
  const places = [...new Set(result.tool_calls.map((c) => LOOKED_IN[c.name] || "the catalogue"))];
  const failed = result.tool_calls.some((c) => !c.ok);
  tools.textContent = places.length
    ? `· looked up: ${places.join(" and ")}${failed ? " (a look-up failed)" : ""}` : "";
  meta.append("Answered by ", agent, " ", tools);
  li.append(meta);
  if (!result.films.length) return;
  const table = document.createElement("table");
  table.className = "films";
  table.createCaption().textContent = "Films in this answer";
  const head = table.createTHead().insertRow();
  for (const name of ["Title", "Rating", "Rate"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.append(th);
  }
  const rows = table.createTBody();
  for (const film of result.films) {
    const row = rows.insertRow();
    row.insertCell().append(filmLink(film, film.title));
    for (const value of [film.rating || "not rated", money(film.rental_rate)]) {
      row.insertCell().textContent = value;
    }
  }
  li.append(table);
}

const ENDINGS = {
  stopped: "Stopped: left out of the conversation.",
  failed: "Not answered: left out of the conversation.",
};

// The end of an answer that did not finish: what had been written, and why it stops there.
function showEnding(li, state) {
  li.classList.add(state);
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = ENDINGS[state];
  li.append(note);
}

function appendExchange(x) {
  $("chat-log").hidden = false;
  $("new-chat").disabled = false;
  const user = userBubble(x.question);
  const assistant = assistantBubble();
  $("chat-thread").append(user, assistant);
  if (x.state === "done") showHandoff(assistant, x.result);
  else if (x.state === "answering") assistant.classList.add("answering");
  else {
    assistant.querySelector(".answer").textContent = x.answer;
    showEnding(assistant, x.state);
  }
  return assistant;
}

// Brings the newest exchange into sight: as much of the answer as fits, its question at most at
// the top (a long answer is read from its start) - unless the reader has scrolled elsewhere.
function reveal(answerLi) {
  if (!chat.following) return;
  const log = $("chat-log");
  const top = answerLi.previousElementSibling.offsetTop - 8;
  const bottom = answerLi.offsetTop + answerLi.offsetHeight + 8;
  log.scrollTop = Math.max(0, Math.min(top, bottom - log.clientHeight));
}

// A reader who scrolls the thread is left where they went until the next question.
for (const type of ["wheel", "touchmove", "keydown"]) {
  $("chat-log").addEventListener(type, () => { chat.following = false; }, { passive: true });
}

function setAsking(busy) {
  $("ask-button").disabled = busy;
  $("stop-button").disabled = !busy;
  // Announced once written out, not word by word.
  $("chat-log").setAttribute("aria-busy", String(busy));
}

async function ask(question) {
  const status = $("ask-status");
  const errorBox = $("ask-error");
  const earlier = history(); // before this question joins the thread
  const x = { question, answer: "", state: "answering", result: null };
  chat.exchanges.push(x);
  saveChat();
  const li = appendExchange(x);
  const box = li.querySelector(".answer");
  chat.following = true;
  reveal(li);
  const controller = (chat.controller = new AbortController());
  setAsking(true);
  status.textContent = "Thinking…";
  try {
    const result = await askStore(question, earlier, controller.signal, (delta) => {
      x.answer += delta;
      box.textContent += delta;
      reveal(li);
    });
    Object.assign(x, { state: "done", answer: result.answer, result });
    showHandoff(li, result);
    status.textContent = "Done.";
  } catch (err) {
    x.state = err.name === "AbortError" ? "stopped" : "failed";
    showEnding(li, x.state);
    if (!chat.exchanges.includes(x)) return; // a new conversation has begun meanwhile
    if (x.state === "stopped") status.textContent = "Stopped.";
    else {
      status.textContent = "";
      show(errorBox, err.message || "The request failed.");
      if (!$("question").value) $("question").value = question; // to ask again at once
    }
  } finally {
    li.classList.remove("answering");
    if (chat.controller === controller) {
      chat.controller = null;
      setAsking(false);
    }
    saveChat();
  }
  reveal(li);
  // Back to the question box, unless the reader has gone elsewhere meanwhile (a film's panel).
  const active = document.activeElement;
  if (!active || active === document.body || $("ask-panel").contains(active)) $("question").focus();
}

$("ask-form").addEventListener("submit", (e) => {
  e.preventDefault();
  if (chat.controller) return; // one question at a time
  const question = $("question").value.trim();
  hide($("ask-error"));
  if (!question) return show($("ask-error"), "Please type a question.");
  $("question").value = "";
  ask(question);
});

// Enter asks; Shift+Enter is a new line.
$("question").addEventListener("keydown", (e) => {
  if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
  e.preventDefault();
  $("ask-form").requestSubmit();
});

$("stop-button").addEventListener("click", () => chat.controller && chat.controller.abort());

$("new-chat").addEventListener("click", () => {
  if (chat.controller) chat.controller.abort();
  chat.exchanges = [];
  saveChat();
  $("chat-thread").replaceChildren();
  $("chat-log").hidden = true;
  $("new-chat").disabled = true;
  hide($("ask-error"));
  $("ask-status").textContent = "";
  $("question").focus();
});

function restoreChat() {
  chat.exchanges = loadChat();
  let last = null;
  for (const x of chat.exchanges) last = appendExchange(x);
  if (last) reveal(last);
}

// -- start -------------------------------------------------------------------------------------

setSignedIn(Boolean(token()));
restoreChat();
loadCategories();
runSearch();
