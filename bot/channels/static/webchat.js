/* The web chat page: one question at a time, answers and staff messages as they come.

   - Kept on this device only (localStorage): the random sender id, the bubbles shown and
     the ids of live messages shown but not yet acknowledged. "Forget me" clears it all
     when the bot confirms the deletion (`forgotten` on its reply).
   - One question at a time: the send button, Enter and the answer buttons wait for the
     reply (a typing indicator shows meanwhile), or for REPLY_TIMEOUT_MS, after which a
     message says to try again; no double answers on slow data.
   - Live messages (a staff reply) come by long-polling `poll`; each id is shown once and
     acknowledged on the next poll (see bot/channels/webchat.py).
   - Server HTML (`html`) comes only from bot.markup, already escaped; everything else is
     inserted with textContent. The urgent card is recognised by the server's `urgent`
     marker, never by its text. */
(function () {
  "use strict";
  var KEY = "webchat-v2";
  var OLD_SENDER_KEY = "webchat-sender";
  var SENDER = /^[A-Za-z0-9_-]{8,64}$/;
  var TEL = /^tel:\+?\d{2,20}$/;
  var MAX_BUBBLES = 200;
  var REPLY_TIMEOUT_MS = 45000;
  var POLL_WAIT_S = 25;
  var TEXT = { // from the catalogs, rendered into the page by the server
    retry: document.body.dataset.retry || "",
    call: "📞 " + (document.body.dataset.call || "") + " ",
    download: "📄 " + (document.body.dataset.download || "")
  };
  var LETTER = /^letter\/[A-Za-z0-9_-]{20,100}$/; // a complaint letter's one-time link

  var log = document.getElementById("log");
  var typing = document.getElementById("typing");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var busy = false;
  var pollTimer = null;
  var pollAbort = null;
  var failures = 0;

  function newSender() {
    return Array.from(crypto.getRandomValues(new Uint8Array(12)), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function fresh(sender) {
    return { sender: sender || newSender(), bubbles: [], pending: [] };
  }

  function load() {
    var stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(KEY) || "null");
    } catch (e) {
      stored = null;
    }
    if (stored && typeof stored.sender === "string" && SENDER.test(stored.sender) &&
        Array.isArray(stored.bubbles) && Array.isArray(stored.pending)) {
      return stored;
    }
    var old = null;
    try {
      old = localStorage.getItem(OLD_SENDER_KEY);
      localStorage.removeItem(OLD_SENDER_KEY);
    } catch (e) { /* no storage: a conversation for this page view only */ }
    return fresh(old && SENDER.test(old) ? old : null);
  }

  function save() {
    state.bubbles = state.bubbles.slice(-MAX_BUBBLES);
    try {
      localStorage.setItem(KEY, JSON.stringify(state));
    } catch (e) { /* full or disabled storage: keep working without it */ }
  }

  var state = load();

  // --- bubbles ---------------------------------------------------------------------------

  function fromServer(m) {
    var buttons = Array.isArray(m.buttons) ? m.buttons.filter(function (b) {
      return b && typeof b.title === "string" && b.title.trim();
    }).map(function (b) {
      return { title: b.title, payload: typeof b.payload === "string" ? b.payload : null };
    }) : [];
    return {
      who: "bot",
      text: typeof m.text === "string" ? m.text : "",
      html: typeof m.html === "string" ? m.html : null,
      buttons: buttons,
      urgent: m.urgent === true,
      call: typeof m.call === "string" && TEL.test(m.call) ? m.call : null,
      callLabel: typeof m.call_label === "string" ? m.call_label : "",
      document: m.document && typeof m.document.url === "string" && LETTER.test(m.document.url)
        ? { url: m.document.url, name: typeof m.document.name === "string" ? m.document.name : "letter.pdf" }
        : null
    };
  }

  function render(bubble) {
    var div = document.createElement("div");
    div.className = "msg " + (bubble.who === "user" ? "user" : "bot") + (bubble.urgent ? " urgent" : "");
    if (bubble.urgent && bubble.call) {
      var call = document.createElement("a");
      call.className = "call";
      call.href = bubble.call;
      call.textContent = TEXT.call + bubble.callLabel;
      div.appendChild(call);
    }
    var body = document.createElement("div");
    body.className = "body";
    if (bubble.who === "bot" && bubble.html) {
      body.innerHTML = bubble.html; // rendered and escaped by the server (bot.markup)
    } else {
      body.textContent = bubble.text || "";
    }
    div.appendChild(body);
    if (bubble.document) {
      var link = document.createElement("a");
      link.className = "document";
      link.href = bubble.document.url;
      link.setAttribute("download", bubble.document.name);
      link.textContent = TEXT.download;
      div.appendChild(link);
    }
    if (bubble.buttons && bubble.buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      bubble.buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.disabled = busy;
        button.addEventListener("click", function () { tap(b); });
        row.appendChild(button);
      });
      div.appendChild(row);
    }
    log.appendChild(div);
    return div;
  }

  function add(bubble) {
    state.bubbles.push(bubble);
    return render(bubble);
  }

  function notice(text) {
    var div = document.createElement("div");
    div.className = "msg notice";
    div.setAttribute("role", "alert");
    div.textContent = text;
    log.appendChild(div);
    return div;
  }

  function scrollToStart(element) {
    element.scrollIntoView({ block: "start" });
  }

  function scrollToEnd() {
    window.scrollTo(0, document.body.scrollHeight);
  }

  // --- one question at a time ----------------------------------------------------------------

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    typing.hidden = !value;
    Array.prototype.forEach.call(log.querySelectorAll(".buttons button"), function (b) {
      b.disabled = value;
    });
  }

  function forgetHere() {
    try { localStorage.removeItem(KEY); } catch (e) { /* nothing kept */ }
    state = fresh(null);
    while (log.firstChild) { log.removeChild(log.firstChild); }
    restartPolling();
  }

  function showReplies(messages) {
    var forgotten = messages.some(function (m) { return m && m.forgotten === true; });
    if (forgotten) { forgetHere(); }
    var first = null;
    messages.forEach(function (m) {
      if (!m || typeof m !== "object") { return; }
      var bubble = fromServer(m);
      var element = forgotten ? render(bubble) : add(bubble);
      first = first || element;
    });
    if (!forgotten) { save(); }
    if (first) { scrollToStart(first); }
  }

  // shown: the user's bubble (their text, or the tapped button's title); null for none.
  function send(body, shown, typed) {
    if (busy) { return; }
    if (shown) {
      add({ who: "user", text: shown });
      save();
    }
    setBusy(true);
    scrollToEnd();
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REPLY_TIMEOUT_MS);
    body.sender = state.sender;
    fetch("webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (messages) {
      clearTimeout(timer);
      setBusy(false);
      showReplies(Array.isArray(messages) ? messages : []);
    }).catch(function () {
      clearTimeout(timer);
      setBusy(false);
      scrollToStart(notice(TEXT.retry));
      if (typed && !input.value) { input.value = typed; }
    });
  }

  function tap(button) {
    if (busy) { return; }
    if (button.payload && button.payload.charAt(0) === "/") {
      send({ payload: button.payload }, button.title, null);
    } else {
      send({ message: button.title }, button.title, null);
    }
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) { return; }
    input.value = "";
    send({ message: text }, text, text);
  });

  // --- live messages (long-polling) -----------------------------------------------------------

  // While the page is hidden (another app in front) no poll is made: mobile data costs
  // money, and the messages wait on the server until the page is visible again.
  function schedule(delay) {
    clearTimeout(pollTimer);
    pollTimer = null;
    if (document.visibilityState === "hidden") { return; }
    pollTimer = setTimeout(poll, delay);
  }

  function restartPolling() {
    var current = pollAbort;
    pollAbort = null; // its failure handler then knows it was replaced, not broken
    if (current) { current.abort(); }
    failures = 0;
    schedule(0);
  }

  function poll() {
    pollTimer = null;
    var sender = state.sender;
    var acks = state.pending.slice();
    var controller = new AbortController();
    pollAbort = controller;
    var timer = setTimeout(function () { controller.abort(); }, (POLL_WAIT_S + 20) * 1000);
    fetch("poll", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, ack: acks, wait: POLL_WAIT_S }),
      cache: "no-store",
      signal: controller.signal
    }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (data) {
      clearTimeout(timer);
      if (controller !== pollAbort || sender !== state.sender) { return; } // replaced (forgotten)
      pollAbort = null;
      state.pending = state.pending.filter(function (id) { return acks.indexOf(id) < 0; });
      var first = null;
      (Array.isArray(data.messages) ? data.messages : []).forEach(function (m) {
        if (!m || typeof m.id !== "string" || state.pending.indexOf(m.id) >= 0) { return; }
        state.pending.push(m.id);
        first = first || add(fromServer(m));
      });
      save();
      if (first) { scrollToStart(first); }
      failures = 0;
      schedule(0);
    }).catch(function () {
      clearTimeout(timer);
      if (controller !== pollAbort) { return; } // replaced by a newer poll
      pollAbort = null;
      failures += 1;
      schedule(Math.min(30000, 1000 * Math.pow(2, failures)));
    });
  }

  // Back on the network or on screen: poll now instead of waiting out the back-off.
  window.addEventListener("online", restartPolling);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && (failures > 0 || (!pollTimer && !pollAbort))) {
      restartPolling();
    }
  });

  // --- start ---------------------------------------------------------------------------------

  state.bubbles.forEach(render);
  save();
  if (state.bubbles.length) {
    scrollToStart(log.lastChild);
  } else {
    send({ payload: "/greet" }, null, null); // the greeting, without a bubble the user never typed
  }
  schedule(0);
})();
