/* The card editor's live checks and preview (bot/staff/cards.py). While the editor types,
   both texts are posted (form-encoded, with the page's CSRF token) to the card's check
   endpoint; the server answers with the checks' verdict and the preview as an escaped
   HTML fragment, swapped in below the form. No framework, no inline script. */
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  var target = document.getElementById("card-check");
  if (!form || !target || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  function check() {
    var body = new URLSearchParams();
    ["csrf", "vi", "en"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) { body.append(name, field.value); }
    });
    var mine = ++sent;
    fetch(form.getAttribute("data-check"), {
      method: "POST", credentials: "same-origin", cache: "no-store", body: body
    }).then(function (r) {
      if (r.status === 401) { window.location.reload(); }
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (data) {
      if (mine !== sent) { return; }  /* an older answer arriving late */
      target.innerHTML = data.html;
      form.setAttribute("data-checked", data.ok ? "ok" : "problems");
    }).catch(function () { /* offline: the next keystroke tries again */ });
  }
  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 500);
  });
})();
