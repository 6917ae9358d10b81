// partnerbot sandbox: phones side by side, fed by the server's event stream.
// Message text arrives as HTML the server built from Telegram entities (escaped, only
// Telegram's tags); everything else is put on the page as text, never as markup.
"use strict";

const API = "/_sandbox";
const phones = new Map(); // user id -> {persona, el, log, keyboard, ...}
const transcripts = new Map(); // chat id -> entries
let statusShown = null;

function $(selector, root = document) {
  return root.querySelector(selector);
}

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

async function call(method, path, body) {
  const response = await fetch(API + path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function clockText(iso) {
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

// Which clock is in force: real time, or real time moved forward by the buttons (kept
// across restarts of the sandbox on the same database).
function aheadText(seconds) {
  if (!seconds) return "(real time)";
  const minutes = Math.floor(seconds / 60);
  const parts = [[Math.floor(minutes / 1440), "d"], [Math.floor(minutes / 60) % 24, "h"], [minutes % 60, "min"]]
    .filter(([n]) => n > 0).map(([n, unit]) => `${n} ${unit}`);
  return `(real time + ${parts.join(" ") || "under a minute"})`;
}

function timeOf(seconds) {
  if (!seconds) return "";
  return new Date(seconds * 1000).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

// ---------------------------------------------------------------- phones

function describe(persona) {
  const parts = [persona.role || "Persona", persona.language_code, `id ${persona.user_id}`];
  return parts.filter(Boolean).join(" · ");
}

function showPersona(persona) {
  let phone = phones.get(persona.user_id);
  if (!phone) phone = createPhone(persona);
  phone.persona = persona;
  const { el } = phone;
  el.classList.toggle("admin", Boolean(persona.admin));
  $(".avatar", el).textContent = persona.first_name.slice(0, 1).toUpperCase();
  $(".name", el).textContent = persona.first_name;
  $(".role", el).textContent = describe(persona);
  $(".rename", el).setAttribute("aria-label", `Rename ${persona.first_name}`);
  $(".composer-label", el).textContent = `Message from ${persona.first_name}`;
  phone.log.setAttribute("aria-label", `${persona.first_name}'s conversation with partnerbot`);
  phone.keyboard.setAttribute("aria-label", `${persona.first_name}'s keyboard`);
}

function createPhone(persona) {
  const el = $("#phone-template").content.firstElementChild.cloneNode(true);
  const id = persona.user_id;
  el.dataset.userId = String(id);
  $(".name", el).id = `phone-${id}-name`;
  el.setAttribute("aria-labelledby", `phone-${id}-name`);
  const input = $(".composer-input", el);
  input.id = `phone-${id}-input`;
  $(".composer-label", el).htmlFor = input.id;
  const renameInput = $(".rename-input", el);
  renameInput.id = `phone-${id}-rename`;
  $(".rename-label", el).htmlFor = renameInput.id;

  const phone = {
    persona, el, log: $(".log", el), keyboard: $(".reply-keyboard", el), startBar: $(".start-bar", el),
    toast: $(".toast", el), error: $(".phone-error", el), toastTimer: null,
  };
  phone.voter = () => phone.persona.user_id;
  phones.set(id, phone);
  $("#phones").append(el);
  setUpAttachments(phone);

  $(".composer", el).addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    await sendText(phone, text);
    input.focus();
  });

  const renameForm = $(".rename-form", el);
  $(".rename", el).addEventListener("click", () => {
    renameForm.hidden = false;
    renameInput.value = phone.persona.first_name;
    renameInput.select();
    renameInput.focus();
  });
  const closeRename = () => {
    renameForm.hidden = true;
    $(".rename", el).focus();
  };
  $(".rename-cancel", el).addEventListener("click", closeRename);
  renameForm.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeRename();
  });
  renameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      showPersona(await call("PATCH", `/personas/${id}`, { first_name: renameInput.value }));
      phone.error.textContent = "";
      closeRename();
    } catch (error) {
      phone.error.textContent = error.message;
    }
  });

  // a new chat offers Telegram's Start button, which sends /start
  $(".start-button", el).addEventListener("click", () => sendText(phone, "/start"));

  // a /command in a message, like in Telegram, sends it
  phone.log.addEventListener("click", (event) => {
    const command = event.target.closest(".tg-command");
    if (command) sendText(phone, command.dataset.command);
    const spoiler = event.target.closest(".tg-spoiler");
    if (spoiler) spoiler.classList.add("shown");
  });
  return phone;
}

async function sendText(phone, text) {
  try {
    await call("POST", `/personas/${phone.persona.user_id}/text`, { text });
    phone.error.textContent = "";
  } catch (error) {
    phone.error.textContent = `Not sent: ${error.message}`;
  }
}

// `owner` is a phone, or the group panel pressing as the persona chosen there
async function press(owner, entry, button, node) {
  node.setAttribute("aria-busy", "true");
  try {
    await call("POST", `/personas/${owner.voter()}/press`, {
      message_id: entry.message_id, data: button.data, chat_id: owner.chatId,
    });
    owner.error.textContent = "";
  } catch (error) {
    node.removeAttribute("aria-busy");
    owner.error.textContent = `Not pressed: ${error.message}`;
  }
}

// ---------------------------------------------------------------- messages

function entryKey(entry) {
  if (entry.from === "bot") return `b${entry.message_id}`;
  // a group post the bot cannot read has no update
  return entry.update_id === null ? `m${entry.message_id}` : `u${entry.update_id}`;
}

// `owner` is the phone (or the group panel) showing the entry.
function renderEntry(owner, entry) {
  const item = element("li", { class: `msg ${entry.from}`, "data-key": entryKey(entry) });
  const bubble = element("div", { class: "bubble" });
  if (entry.from === "user") {
    bubble.append(...mediaNodes(entry));
    if (entry.text) bubble.append(element("div", { class: "text", text: entry.text }));
    bubble.append(element("span", { class: "meta", text: timeOf(entry.date) }));
    item.append(element("span", { class: "visually-hidden", text: owner.chatId ? `${entry.sender}: ` : "You: " }), bubble);
    return item;
  }
  item.dataset.messageId = String(entry.message_id);
  bubble.append(...mediaNodes(entry));
  if (entry.poll) bubble.append(pollNode(owner, entry));
  if (entry.kind === "photo" && entry.file_url) {
    bubble.append(element("img", { src: entry.file_url, alt: "Photo from the bot" }));
  } else if (entry.kind === "document") {
    const name = entry.file_name || "document";
    const size = entry.file_size ? ` (${Math.max(1, Math.round(entry.file_size / 1024))} KB)` : "";
    const children = [element("span", { class: "doc-icon", "aria-hidden": "true", text: "DOC" }),
      element("span", { text: name + size })];
    if (entry.file_url) {
      bubble.append(element("a", { class: "doc", href: entry.file_url, download: name }, children));
    } else {
      bubble.append(element("p", { class: "doc" }, children));
    }
  }
  if (entry.html) {
    const text = element("div", { class: "text" });
    text.innerHTML = entry.html; // built by the server from entities: escaped, Telegram tags only
    bubble.append(text);
  }
  const meta = (entry.edited ? "edited " : "") + timeOf(entry.date);
  bubble.append(element("span", { class: "meta", text: meta }));
  item.append(element("span", { class: "visually-hidden", text: "partnerbot: " }), bubble);
  if (entry.buttons && entry.buttons.length) {
    const keyboard = element("div", { class: "inline-keyboard", role: "group", "aria-label": "Buttons" });
    for (const row of entry.buttons) {
      const line = element("div", { class: "key-row" });
      for (const button of row) {
        if (button.url) {
          line.append(element("a", { href: button.url, target: "_blank", rel: "noopener noreferrer", text: `${button.text} ↗` }));
        } else if (button.data !== undefined) {
          const node = element("button", { type: "button", text: button.text });
          node.addEventListener("click", () => press(owner, entry, button, node));
          line.append(node);
        } else {
          line.append(element("button", { type: "button", text: button.text, disabled: true }));
        }
      }
      keyboard.append(line);
    }
    item.append(keyboard);
  }
  return item;
}

function nearBottom(log) {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

function scrollDown(log) {
  log.scrollTop = log.scrollHeight;
}

function addEntry(chatId, entry) {
  const list = transcripts.get(chatId) || [];
  list.push(entry);
  transcripts.set(chatId, list);
  if (chatId < 0) return addGroupEntry(chatId, entry);
  const phone = phones.get(chatId);
  if (!phone) return;
  const follow = nearBottom(phone.log) || entry.from === "user";
  phone.log.append(renderEntry(phone, entry));
  if (follow) scrollDown(phone.log);
  updateReplyKeyboard(phone);
}

function editEntry(chatId, entry) {
  const list = transcripts.get(chatId) || [];
  const at = list.findIndex((e) => e.from === "bot" && e.message_id === entry.message_id);
  if (at >= 0) list[at] = entry;
  if (chatId < 0) return editGroupEntry(chatId, entry);
  const phone = phones.get(chatId);
  if (!phone) return;
  const old = phone.log.querySelector(`[data-key="b${entry.message_id}"]`);
  if (old) old.replaceWith(renderEntry(phone, entry));
}

function deleteEntry(chatId, messageId) {
  const list = transcripts.get(chatId) || [];
  transcripts.set(chatId, list.filter((e) => !(e.from === "bot" && e.message_id === messageId)));
  if (chatId < 0) return deleteGroupEntry(chatId, messageId);
  const phone = phones.get(chatId);
  const old = phone && phone.log.querySelector(`[data-key="b${messageId}"]`);
  if (old) old.remove();
}

function renderTranscript(phone) {
  phone.log.replaceChildren(...(transcripts.get(phone.persona.user_id) || []).map((e) => renderEntry(phone, e)));
  scrollDown(phone.log);
  updateReplyKeyboard(phone);
}

// Telegram keeps the last reply keyboard a message set until one removes it.
function updateReplyKeyboard(phone) {
  const list = transcripts.get(phone.persona.user_id) || [];
  phone.startBar.hidden = list.length > 0;
  let current = null;
  for (const entry of list) {
    if (entry.from === "bot" && entry.reply_keyboard) current = entry.reply_keyboard.remove ? null : entry.reply_keyboard;
    if (entry.from === "user" && current && current.one_time) current = null;
  }
  phone.keyboard.replaceChildren();
  phone.keyboard.hidden = !current;
  if (!current) return;
  for (const row of current.rows) {
    const line = element("div", { class: "key-row" });
    for (const label of row) {
      const node = element("button", { type: "button", text: label });
      node.addEventListener("click", () => sendText(phone, label));
      line.append(node);
    }
    phone.keyboard.append(line);
  }
}

function showAnswer(chatId, text, alert) {
  const phone = phones.get(chatId);
  if (!phone) return;
  phone.log.querySelectorAll('[aria-busy="true"]').forEach((node) => node.removeAttribute("aria-busy"));
  if (!text) return;
  const { toast } = phone;
  clearTimeout(phone.toastTimer);
  toast.replaceChildren(element("span", { text }));
  toast.classList.toggle("alert", Boolean(alert));
  toast.hidden = false;
  if (alert) {
    const ok = element("button", { type: "button", class: "toast-ok", text: "OK" });
    ok.addEventListener("click", () => { toast.hidden = true; });
    toast.append(ok);
    ok.focus();
  } else {
    phone.toastTimer = setTimeout(() => { toast.hidden = true; }, 3500);
  }
}

// ---------------------------------------------------------------- clock, outbox, flows

function showStatus(status) {
  if (!status) return;
  statusShown = status;
  const clock = $("#clock-now");
  clock.dateTime = status.clock;
  clock.textContent = clockText(status.clock);
  $("#clock-ahead").textContent = aheadText(status.clock_ahead_s);
  const counts = $("#outbox-counts");
  counts.replaceChildren(...Object.entries(status.outbox.counts).map(([name, n]) =>
    element("li", { class: `status-${name}` }, [element("span", { class: "n", text: String(n) }), ` ${name}`])));
  const body = $("#outbox-rows tbody");
  const rows = status.outbox.latest.map((row) => {
    const who = phones.get(row.chat_id);
    const message = element("td", { class: "excerpt", text: row.excerpt });
    if (row.last_error) message.append(element("span", { class: "error", text: row.last_error }));
    return element("tr", {}, [
      element("td", { text: String(row.id) }),
      element("td", { text: who ? who.persona.first_name : String(row.chat_id) }),
      element("td", { class: `status-${row.status}`, text: row.attempts > 1 ? `${row.status} (${row.attempts} tries)` : row.status }),
      message,
    ]);
  });
  if (!rows.length) rows.push(element("tr", {}, [element("td", { class: "empty", colSpan: 4, text: "Nothing queued yet." })]));
  body.replaceChildren(...rows);
}

function showContent(content) {
  const box = $("#content-status");
  if (content.ok) {
    box.replaceChildren(content.reloaded_at
      ? element("p", { class: "content-ok", text: `Flows and wording reloaded at ${new Date(content.reloaded_at).toLocaleTimeString()}.` })
      : "");
    return;
  }
  const items = content.problems.map((problem) => {
    const where = [problem.file];
    if (problem.flow) where.push(`flow ${problem.flow}`);
    if (problem.node) where.push(`node ${problem.node}`);
    return element("li", {}, [
      element("span", { class: "problem-where", text: where.join(", ") }), `: ${problem.message}`,
    ]);
  });
  box.replaceChildren(element("div", { class: "problems", role: "alert" }, [
    element("h2", { text: "The flows have a problem" }),
    element("p", { text: "The bot keeps running the previous valid version until it is fixed." }),
    element("ul", {}, items),
  ]));
}

// ---------------------------------------------------------------- the event stream

function applySnapshot(snapshot) {
  transcripts.clear();
  for (const [chatId, entries] of Object.entries(snapshot.transcripts)) transcripts.set(Number(chatId), entries);
  for (const persona of snapshot.personas) showPersona(persona);
  for (const phone of phones.values()) renderTranscript(phone);
  listLinkPhones();
  renderGroups(snapshot.groups);
  showContent(snapshot.content);
  showStatus(snapshot.status || statusShown);
}

function handle(event) {
  switch (event.type) {
    case "snapshot": applySnapshot(event); break;
    case "message": addEntry(event.chat_id, event.entry); break;
    case "edit": editEntry(event.chat_id, event.entry); break;
    case "delete": deleteEntry(event.chat_id, event.message_id); break;
    case "answer": showAnswer(event.chat_id, event.text, event.show_alert); break;
    case "persona": {
      const isNew = !phones.has(event.persona.user_id);
      showPersona(event.persona);
      if (isNew) renderTranscript(phones.get(event.persona.user_id));
      listLinkPhones();
      break;
    }
    case "status": showStatus(event); break;
    case "content": showContent(event.content); break;
    case "group": showGroup(event.group); break;
    default: break;
  }
}

function connect() {
  const connection = $("#connection");
  const source = new EventSource(`${API}/events`);
  source.onopen = () => {
    connection.textContent = "Live";
    connection.classList.add("live");
  };
  source.onerror = () => {
    connection.textContent = "Reconnecting…";
    connection.classList.remove("live");
  };
  source.onmessage = (message) => handle(JSON.parse(message.data));
}

function setUp() {
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const moved = await call("POST", "/clock", { advance: button.dataset.advance });
        showStatus({ ...(statusShown || { outbox: { counts: {}, latest: [] } }), ...moved });
        $("#clock-error").textContent = "";
      } catch (error) {
        $("#clock-error").textContent = `The clock did not move: ${error.message}`;
      } finally {
        button.disabled = false;
      }
    });
  }
  const form = $("#add-persona");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      const persona = await call("POST", "/personas", data);
      $("#add-error").textContent = "";
      form.reset();
      handle({ type: "persona", persona });
      $(".composer-input", phones.get(persona.user_id).el).focus();
    } catch (error) {
      $("#add-error").textContent = error.message;
    }
  });
  setUpLinks();
  connect();
}

setUp();
