/* The Understanding page's progress bar: asks the job's JSON every few seconds and moves the
   bar; when the job has ended, reloads the page, which the server renders with the held-out
   figures or the reason. A static file because the console's CSP forbids inline script. */
(function () {
  "use strict";
  var box = document.getElementById("retrain-job");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-job");
  var every = (parseInt(box.getAttribute("data-interval"), 10) || 2) * 1000;
  var bar = box.querySelector("progress");
  var step = box.querySelector(".job-step");
  var percent = box.querySelector(".job-percent");
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); }
        if (!r.ok) { throw new Error(String(r.status)); }
        return r.json();
      })
      .then(function (job) {
        if (!job.running) { window.location.assign("/understanding"); return; }
        bar.value = job.progress;
        bar.textContent = job.progress + "%";
        percent.textContent = String(job.progress);
        step.textContent = job.label;
        window.setTimeout(tick, every);
      })
      .catch(function () { window.setTimeout(tick, every); });
  }
  window.setTimeout(tick, every);
})();
