// partnerbot sandbox: the committee group beside the phones. Its messages are grouped by forum
// topic; a persona chosen in the panel posts there (commands too) and votes in its polls.
// Loaded before app.js, whose helpers ($, element, call, renderEntry) it uses.
"use strict";

const groups = new Map(); // chat id -> {info, el, topics: Map(thread key -> log), ...}
const GENERAL = "general";

function topicKey(threadId) {
  return threadId === null || threadId === undefined ? GENERAL : String(threadId);
}

function showGroup(info) {
  let group = groups.get(info.chat_id);
  if (!group) group = createGroup(info);
  group.info = info;
  const { el } = group;
  const members = info.members.filter((m) => ["creator", "administrator", "member"].includes(m.status));
  $(".name", el).textContent = info.title;
  $(".avatar", el).textContent = info.title.slice(0, 1).toUpperCase();
  $(".role", el).textContent = [
    info.is_forum ? "Forum" : "Group", `${members.length} members`, `partnerbot: ${info.bot_status}`,
  ].join(" · ");
  $(".members", el).textContent = members
    .map((m) => (m.status === "member" ? m.name : `${m.name} (${m.status === "creator" ? "owner" : "admin"})`))
    .join(", ");
  const as = $(".group-as", el);
  const chosen = as.value;
  as.replaceChildren(...members.filter((m) => phones.has(m.user_id)).map((m) =>
    element("option", { value: String(m.user_id), text: m.name })));
  if (chosen && [...as.options].some((o) => o.value === chosen)) as.value = chosen;
  const where = $(".group-topic", el);
  const place = where.value;
  where.replaceChildren(element("option", { value: "", text: "General" }),
    ...info.topics.map((t) => element("option", { value: String(t.thread_id), text: t.name })));
  if ([...where.options].some((o) => o.value === place)) where.value = place;
  $(".group-topic-field", el).hidden = !info.is_forum;
  for (const topic of info.topics) topicLog(group, topic.thread_id);
}

function createGroup(info) {
  const el = $("#group-template").content.firstElementChild.cloneNode(true);
  const id = info.chat_id;
  $(".name", el).id = `group-${id}-name`;
  el.setAttribute("aria-labelledby", `group-${id}-name`);
  for (const [selector, suffix] of [[".group-as", "as"], [".group-topic", "topic"], [".group-input", "input"]]) {
    const field = $(selector, el);
    field.id = `group-${id}-${suffix}`;
    $(`label[data-for="${suffix}"]`, el).htmlFor = field.id;
  }
  const group = { info, el, topics: new Map(), error: $(".phone-error", el), chatId: id };
  group.voter = () => Number($(".group-as", el).value);
  groups.set(id, group);
  $("#groups").append(el);
  topicLog(group, null);

  const input = $(".group-input", el);
  $(".group-composer", el).addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    await postInGroup(group, text);
    input.focus();
  });
  // a /command in a message, as in Telegram, is sent by whoever taps it
  $(".topics", el).addEventListener("click", (event) => {
    const command = event.target.closest(".tg-command");
    if (command) postInGroup(group, command.dataset.command, event.target.closest(".topic").dataset.thread);
  });
  return group;
}

// The log of a topic (null: the group's General chat), made when first needed.
function topicLog(group, threadId) {
  const key = topicKey(threadId);
  let log = group.topics.get(key);
  const topic = (group.info.topics || []).find((t) => t.thread_id === threadId);
  const name = key === GENERAL ? "General" : topic ? topic.name : `Topic ${threadId}`;
  if (!log) {
    const heading = element("h3", { id: `group-${group.chatId}-topic-${key}`, text: name });
    log = element("ol", { class: "log", role: "log", "aria-live": "polite", "aria-labelledby": heading.id });
    const section = element("section", { class: "topic", "data-thread": key === GENERAL ? "" : key,
      "aria-labelledby": heading.id }, [heading, log]);
    $(".topics", group.el).append(section);
    group.topics.set(key, log);
  }
  const heading = log.parentElement.querySelector("h3");
  heading.replaceChildren(element("span", { class: "hash", "aria-hidden": "true", text: "# " }),
    name + ((topic && topic.is_closed) ? " (closed)" : ""));
  log.parentElement.hidden = key === GENERAL && group.info.is_forum && !log.children.length;
  return log;
}

function addGroupEntry(chatId, entry) {
  const group = groups.get(chatId);
  if (!group) return;
  // outside a forum a thread is only a chain of replies: one chat
  const log = topicLog(group, group.info.is_forum ? entry.thread_id : null);
  log.parentElement.hidden = false;
  const item = renderGroupEntry(group, entry);
  log.append(item);
  // bring the new message into the panel's view, without moving the page
  const chat = $(".chat", group.el);
  chat.scrollTop = Math.max(0, item.offsetTop + item.offsetHeight - chat.clientHeight);
}

function renderGroupEntry(group, entry) {
  const item = renderEntry(group, entry);
  if (entry.from === "user") {
    item.prepend(element("span", { class: "sender", text: entry.sender || "" }));
    // privacy mode: the bot gets commands, replies to it and mentions only (unless an admin)
    if (entry.update_id === null) item.append(element("span", { class: "unseen", text: "not seen by partnerbot" }));
  }
  return item;
}

function editGroupEntry(chatId, entry) {
  const group = groups.get(chatId);
  const old = group && group.el.querySelector(`[data-key="b${entry.message_id}"]`);
  if (old) old.replaceWith(renderGroupEntry(group, entry));
}

function deleteGroupEntry(chatId, messageId) {
  const group = groups.get(chatId);
  const old = group && group.el.querySelector(`[data-key="b${messageId}"]`);
  if (old) old.remove();
}

function renderGroups(list) {
  for (const info of list || []) showGroup(info);
  for (const group of groups.values()) {
    for (const log of group.topics.values()) log.replaceChildren();
    for (const entry of transcripts.get(group.chatId) || []) addGroupEntry(group.chatId, entry);
    topicLog(group, null);
  }
}

async function postInGroup(group, text, threadKey) {
  const where = threadKey === undefined ? $(".group-topic", group.el).value : threadKey;
  try {
    await call("POST", `/groups/${group.chatId}/posts`, {
      user_id: group.voter(), text, thread_id: where ? Number(where) : null,
    });
    group.error.textContent = "";
  } catch (error) {
    group.error.textContent = `Not sent: ${error.message}`;
  }
}
