// partnerbot sandbox: what a message carries besides text (voice notes, photos, places,
// polls), what a phone sends besides typing (its attachment menu), and t.me links to the
// bot opened on a chosen phone. Loaded before app.js, whose helpers ($, element, call) it uses.
"use strict";

const TELEGRAM_LINK = /^(https?:\/\/)?(www\.)?(t|telegram)\.me\//i;

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// A voice note, a photo without its file (a person's, or the bot's copy of one), a place.
function mediaNodes(entry) {
  if (entry.voice) {
    const length = duration(entry.voice.duration);
    return [element("div", { class: "voice", role: "img", "aria-label": `Voice note, ${length}` }, [
      element("span", { class: "voice-play", "aria-hidden": "true", text: "▶" }),
      element("span", { class: "voice-wave", "aria-hidden": "true", text: "▂▅▇▃▆▂▅▇▃▆▂▄" }),
      element("span", { class: "voice-length", text: `Voice note ${length}` }),
    ])];
  }
  if (entry.location) {
    const { latitude, longitude } = entry.location;
    return [element("div", { class: "place" }, [
      element("span", { class: "place-pin", "aria-hidden": "true" }),
      element("span", { text: `Location ${Number(latitude).toFixed(4)}, ${Number(longitude).toFixed(4)}` }),
    ])];
  }
  if (entry.kind === "photo" && !entry.file_url) {
    return [element("div", { class: "photo-placeholder", role: "img", "aria-label": "Photo", text: "Photo" })];
  }
  if (entry.from === "user" && entry.kind === "document") {
    return [element("p", { class: "doc" }, [
      element("span", { class: "doc-icon", "aria-hidden": "true", text: "DOC" }),
      element("span", { text: entry.file_name || "document" })])];
  }
  return [];
}

// A poll as Telegram draws it; `owner.voter()` is who votes by pressing an option. Of a named
// poll the page shows who chose what (the bot's poll_answer updates); of an anonymous one, only
// the totals, which is all the bot, and the members, learn.
function pollNode(owner, entry) {
  const poll = entry.poll;
  const total = poll.total_voter_count || 0;
  const kind = `${poll.is_anonymous ? "Anonymous poll" : "Poll, votes named"}${poll.is_closed ? " · closed" : ""}`;
  const box = element("div", { class: "poll", role: "group", "aria-label": `Poll: ${poll.question}` }, [
    element("p", { class: "poll-question", text: poll.question }),
    element("p", { class: "poll-kind", text: `${kind} · ${total} vote${total === 1 ? "" : "s"}` }),
  ]);
  const options = element("ol", { class: "poll-options" });
  poll.options.forEach((option, index) => {
    const share = total ? Math.round((100 * option.voter_count) / total) : 0;
    const choose = element("button", { type: "button", class: "poll-option", text: option.text, disabled: poll.is_closed });
    choose.addEventListener("click", () => vote(owner, poll, [index], choose));
    options.append(element("li", { style: `--share: ${share}%` }, [
      choose, element("span", { class: "poll-count", text: `${option.voter_count} (${share}%)` }),
    ]));
  });
  box.append(options);
  if (!poll.is_anonymous) {
    // marked once the bot received the vote (a bot gets poll_answer only if it asks for it)
    const voters = (entry.voters || []).map((voter) => element("li",
      voter.update_id === null ? {} : { "data-update-id": String(voter.update_id) }, [
        `${voter.name}: ${voter.option_ids.map((i) => poll.options[i].text).join(", ")}`,
        voter.update_id === null ? "" : element("span", { class: "poll-answer", text: " (poll_answer)" }),
      ]));
    box.append(element("ul", { class: "poll-voters", "aria-label": "Who voted" }, voters));
  }
  return box;
}

async function vote(owner, poll, optionIds, node) {
  node.setAttribute("aria-busy", "true");
  try {
    await call("POST", `/polls/${poll.id}/votes`, { user_id: owner.voter(), option_ids: optionIds });
    owner.error.textContent = "";
  } catch (error) {
    owner.error.textContent = `Not voted: ${error.message}`;
  } finally {
    node.removeAttribute("aria-busy");
  }
}

// ---------------------------------------------------------------- a phone's attachment menu

function setUpAttachments(phone) {
  const { el } = phone;
  const id = phone.persona.user_id;
  const seconds = $(".voice-seconds", el);
  seconds.id = `phone-${id}-seconds`;
  $(".voice-seconds-label", el).htmlFor = seconds.id;
  const send = (kind, body) => attach(phone, kind, body);
  $(".attach-voice", el).addEventListener("click", () => send("voice", { duration: Number(seconds.value) }));
  $(".attach-photo", el).addEventListener("click", () => {
    const input = $(".composer-input", el);
    const caption = input.value.trim();
    input.value = "";
    send("photo", caption ? { caption } : {});
  });
  $(".attach-location", el).addEventListener("click", () => send("location", {}));
}

async function attach(phone, kind, body) {
  try {
    await call("POST", `/personas/${phone.persona.user_id}/${kind}`, body);
    phone.error.textContent = "";
  } catch (error) {
    phone.error.textContent = `Not sent: ${error.message}`;
  }
}

// ---------------------------------------------------------------- t.me links to the bot

// A link to the bot, tapped in a chat, asks which phone opens it (the page is not a phone).
function interceptTelegramLinks(container) {
  container.addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || !TELEGRAM_LINK.test(link.getAttribute("href"))) return;
    event.preventDefault();
    chooseLinkPhone(link.getAttribute("href"));
  });
}

function chooseLinkPhone(url) {
  const dialog = $("#link-dialog");
  $("#link-dialog-url", dialog).textContent = url;
  $("#link-dialog-error", dialog).textContent = "";
  const choices = $("#link-dialog-phones", dialog);
  choices.replaceChildren(...[...phones.values()].map((phone) => {
    const button = element("button", { type: "button", text: phone.persona.first_name });
    button.addEventListener("click", async () => {
      if (await openLink(phone, url, $("#link-dialog-error", dialog))) dialog.close();
    });
    return button;
  }));
  dialog.showModal();
}

async function openLink(phone, url, errorBox) {
  try {
    await call("POST", `/personas/${phone.persona.user_id}/links`, { url });
    errorBox.textContent = "";
    return true;
  } catch (error) {
    errorBox.textContent = `Not opened: ${error.message}`;
    return false;
  }
}

function setUpLinks() {
  interceptTelegramLinks($("main"));
  $("#link-dialog-cancel").addEventListener("click", () => $("#link-dialog").close());
  const form = $("#open-link");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const phone = phones.get(Number($("#open-link-phone").value));
    if (phone && await openLink(phone, $("#open-link-url").value.trim(), $("#open-link-error"))) form.reset();
  });
}

// The side panel's phone picker follows the personas.
function listLinkPhones() {
  const select = $("#open-link-phone");
  const chosen = select.value;
  select.replaceChildren(...[...phones.values()].map((phone) =>
    element("option", { value: String(phone.persona.user_id), text: phone.persona.first_name })));
  if (chosen) select.value = chosen;
}
