// Streams /ai/ask over fetch + ReadableStream (SSE framing), with a Stop button that aborts
// the request; or asks the store assistant (/ai/handoff) and shows who answered and the films
// its tools found; renders /ai/summary as a card. No dependencies, no build step.
"use strict";

const $ = (id) => document.getElementById(id);

function showError(box, message) {
  box.textContent = message;
  box.hidden = false;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  } catch (_) { /* not JSON */ }
  return `HTTP ${response.status}`;
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

let controller = null;

function setAsking(asking) {
  $("ask-button").disabled = asking;
  $("stop-button").disabled = !asking;
}

const AGENTS = { search: "the store (database)", general: "the general assistant" };

function showHandoff(result) {
  $("answer").textContent = result.answer;
  $("handoff-agent").textContent = AGENTS[result.agent] || result.agent;
  const tools = result.tool_calls.map((c) => c.name + (c.ok ? "" : " (failed)"));
  $("handoff-tools").textContent = tools.length ? `· looked up: ${tools.join(", ")}` : "";
  const table = $("handoff-films");
  const rows = table.querySelector("tbody");
  rows.replaceChildren();
  for (const film of result.films) {
    const row = rows.insertRow();
    for (const value of [film.title, film.rating || "not rated", `$${film.rental_rate}`]) {
      row.insertCell().textContent = value;
    }
  }
  table.hidden = result.films.length === 0;
  $("handoff").hidden = false;
}

async function askStore(question, signal) {
  const response = await fetch("/ai/handoff", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ question }),
    signal,
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  showHandoff(await response.json());
}

$("ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const question = $("question").value.trim();
  const answer = $("answer");
  const errorBox = $("ask-error");
  const status = $("ask-status");
  answer.textContent = "";
  errorBox.hidden = true;
  $("handoff").hidden = true;
  if (!question) return showError(errorBox, "Please type a question.");
  const mode = new FormData($("ask-form")).get("mode");

  controller = new AbortController();
  setAsking(true);
  status.textContent = "Thinking…";
  try {
    if (mode === "store") {
      await askStore(question, controller.signal);
      status.textContent = "Done.";
      return;
    }
    const response = await fetch(`/ai/ask?question=${encodeURIComponent(question)}`, {
      headers: { Accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    status.textContent = "Answering…";
    for await (const { event, data } of sseEvents(response.body)) {
      if (event === "message") answer.textContent += data.delta;
      else if (event === "error") throw new Error(data.message);
      else if (event === "done") status.textContent = "Done.";
    }
  } catch (err) {
    if (err.name === "AbortError") status.textContent = "Stopped.";
    else { status.textContent = ""; showError(errorBox, err.message || "The request failed."); }
  } finally {
    controller = null;
    setAsking(false);
  }
});

$("stop-button").addEventListener("click", () => controller && controller.abort());

$("summary-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const errorBox = $("summary-error");
  const card = $("summary-card");
  const button = $("summary-button");
  errorBox.hidden = true;
  card.hidden = true;
  button.disabled = true;
  button.textContent = "Summarising…";
  try {
    const response = await fetch("/ai/summary", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ film_id: Number($("film-id").value) }),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    const film = await response.json();
    $("card-title").textContent = film.title;
    $("card-rating").textContent = `Rated ${film.rating}`;
    const rec = $("card-recommended");
    rec.textContent = film.recommended ? "Recommended" : "Not recommended";
    rec.className = film.recommended ? "badge yes" : "badge";
    $("card-summary").textContent = film.summary;
    card.hidden = false;
  } catch (err) {
    showError(errorBox, err.message || "The request failed.");
  } finally {
    button.disabled = false;
    button.textContent = "Summarise";
  }
});
