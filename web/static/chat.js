// The support chat widget (portal and console): a floating button opens a
// panel that talks to /api/v1/chat without reloading the page. No inline
// code (CSP); messages are built as DOM nodes, never as HTML strings.
// The conversation id lives in localStorage, so a new tab continues the
// same conversation, for 24 hours after the last message; it is forgotten
// when the person ends the conversation or signs out. It is the only link
// to the conversation: no cookie is sent.
(function () {
  "use strict";
  var root = document.getElementById("chatw");
  if (!root || !window.fetch) return;
  var openBtn = document.getElementById("chatw-open");
  var panel = document.getElementById("chatw-panel");
  var closeBtn = document.getElementById("chatw-close");
  var log = document.getElementById("chatw-log");
  var form = document.getElementById("chatw-form");
  var input = document.getElementById("chatw-input");
  var status = document.getElementById("chatw-status");
  var badge = document.getElementById("chatw-badge");
  var personBtn = document.getElementById("chatw-person");
  var lang = (document.documentElement.lang || "vi").slice(0, 2);
  var KEY = "motcua.chat";
  var TTL = 24 * 3600 * 1000;
  var store = null;
  var convId = null;
  try {
    store = window.localStorage;
    var kept = JSON.parse(store.getItem(KEY) || "null");
    if (kept && kept.id && kept.exp > Date.now()) convId = kept.id;
    else store.removeItem(KEY);
    window.sessionStorage.removeItem("motcua.chat.id");
  } catch (e) { store = null; }
  function forget() {
    convId = null;
    try { if (store) store.removeItem(KEY); } catch (e) { /* private mode */ }
  }
  // Signing out ends the conversation on this device.
  document.addEventListener("submit", function (e) {
    var action = e.target && e.target.getAttribute && e.target.getAttribute("action") || "";
    if (/\/dang-xuat$/.test(action)) forget();
  }, true);
  var lastSeq = 0;
  var busy = false;
  var timer = null;
  var person = false;
  var TEXT = {
    citizen: "Anh/chị",
    bot: "Trợ lý",
    staff: "Cán bộ hỗ trợ",
    withheld: "(Tin nhắn đã được ẩn vì có thể chứa mật khẩu hoặc mã OTP.)",
    person: "Cán bộ hỗ trợ đang xử lý yêu cầu của anh/chị. Câu trả lời sẽ hiện ở đây.",
    failed: "Không gửi được tin nhắn. Anh/chị vui lòng kiểm tra kết nối và thử lại.",
    sending: "Đang gửi…",
    suggestions: "Gợi ý"
  };
  root.hidden = false;

  function setId(id) {
    convId = id;
    try { if (store) store.setItem(KEY, JSON.stringify({ id: id, exp: Date.now() + TTL })); } catch (e) { /* private mode */ }
  }

  // Text with **bold** and links, as nodes.
  function richText(parent, text) {
    var lines = String(text).split("\n");
    lines.forEach(function (line, li) {
      if (li > 0) parent.appendChild(document.createElement("br"));
      var parts = line.split("**");
      parts.forEach(function (part, i) {
        var holder = parent;
        if (i % 2 === 1 && i < parts.length - 1) {
          holder = document.createElement("strong");
          parent.appendChild(holder);
        } else if (i % 2 === 1) {
          part = "**" + part;
        }
        var re = /(https?:\/\/[^\s)]+[^\s).,;!?])/g;
        var last = 0, m;
        while ((m = re.exec(part)) !== null) {
          if (m.index > last) holder.appendChild(document.createTextNode(part.slice(last, m.index)));
          var a = document.createElement("a");
          a.href = m[1];
          a.textContent = m[1];
          a.rel = "noopener";
          holder.appendChild(a);
          last = m.index + m[1].length;
        }
        if (last < part.length) holder.appendChild(document.createTextNode(part.slice(last)));
      });
    });
  }

  function clearChips() {
    log.querySelectorAll(".chatw-chips").forEach(function (c) { c.remove(); });
  }

  function addMessage(m) {
    if (m.seq && m.seq <= lastSeq) return;
    if (m.seq) lastSeq = m.seq;
    if (!m.text && !m.withheld) return;
    // Commands (/start from opening the panel) are not shown.
    if (m.from === "citizen" && m.text.charAt(0) === "/") return;
    var div = document.createElement("div");
    div.className = "chatw-msg chatw-" + m.from;
    var who = document.createElement("span");
    who.className = m.from === "citizen" ? "sr-only" : "chatw-who";
    who.textContent = (TEXT[m.from] || "") + ": ";
    div.appendChild(who);
    var body = document.createElement("span");
    if (m.withheld) {
      body.className = "chatw-withheld";
      body.textContent = TEXT.withheld;
    } else {
      richText(body, m.text);
    }
    div.appendChild(body);
    log.appendChild(div);
    if (m.suggestions && m.suggestions.length) {
      clearChips();
      var chips = document.createElement("div");
      chips.className = "chatw-chips";
      chips.setAttribute("role", "group");
      chips.setAttribute("aria-label", TEXT.suggestions);
      m.suggestions.forEach(function (s) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "chatw-chip" + (s.id === "handoff" ? " chatw-handoff" : "");
        b.textContent = s.label;
        b.addEventListener("click", function () { send("", s.id); });
        chips.appendChild(b);
      });
      log.appendChild(chips);
    } else if (m.from !== "citizen") {
      clearChips();
    }
    log.scrollTop = log.scrollHeight;
  }

  function showState(p) {
    person = !!p;
    status.textContent = person ? TEXT.person : "";
    personBtn.hidden = person;
  }

  function request(method, url, body) {
    var opts = { method: method, credentials: "omit", headers: { "Accept": "application/json" } };
    if (body) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error((j && j.error && j.error.message) || TEXT.failed);
          e.status = r.status;
          throw e;
        }
        return j;
      });
    });
  }

  function poll() {
    if (!convId) return Promise.resolve();
    var asked = convId;
    return request("GET", "/api/v1/chat/" + encodeURIComponent(convId) + "/messages?after=" + lastSeq)
      .then(function (j) {
        // An answer about a conversation ended meanwhile is dropped.
        if (asked !== convId) return;
        var fresh = false;
        (j.items || []).forEach(function (m) {
          if (m.seq > lastSeq && m.from !== "citizen") fresh = true;
          addMessage(m);
        });
        showState(j.handled_by_person);
        if (fresh && panel.hidden) badge.hidden = false;
      })
      .catch(function (e) {
        if (e.status === 404) { convId = null; lastSeq = 0; try { if (store) store.removeItem(KEY); } catch (x) { /* ignore */ } }
      });
  }

  function send(text, suggestionId) {
    if (busy) return;
    busy = true;
    status.textContent = TEXT.sending;
    var body = { text: text, lang: lang };
    if (convId) body.conversation_id = convId;
    if (suggestionId) body.suggestion_id = suggestionId;
    request("POST", "/api/v1/chat", body)
      .then(function (j) {
        setId(j.conversation_id);
        status.textContent = "";
        return poll();
      })
      .catch(function (e) { status.textContent = e.message || TEXT.failed; })
      .then(function () { busy = false; });
  }

  function schedule() {
    clearInterval(timer);
    timer = setInterval(function () {
      if (!panel.hidden || person) poll();
    }, panel.hidden ? 15000 : 3000);
  }

  function open() {
    panel.hidden = false;
    root.classList.add("chatw-is-open");
    openBtn.setAttribute("aria-expanded", "true");
    badge.hidden = true;
    input.focus();
    if (!log.childNodes.length) {
      if (convId) {
        poll().then(function () { if (!log.childNodes.length) send("", null); });
      } else {
        send("", null);
      }
    }
    schedule();
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("chatw-is-open");
    openBtn.setAttribute("aria-expanded", "false");
    openBtn.focus();
    schedule();
  }

  openBtn.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", close);
  personBtn.addEventListener("click", function () { send("", "handoff"); });
  var endBtn = document.getElementById("chatw-end");
  if (endBtn) endBtn.addEventListener("click", function () {
    if (busy) return;
    forget();
    lastSeq = 0;
    person = false;
    while (log.firstChild) log.removeChild(log.firstChild);
    send("", null);
  });
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = input.value.trim();
    if (!t) { input.focus(); return; }
    input.value = "";
    send(t, null);
  });
  if (convId) { poll(); schedule(); }
})();
