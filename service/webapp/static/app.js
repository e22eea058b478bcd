// Touchpoints web app: upload through POST /v1/jobs/upload, poll job progress, reload after an edit.
// Plain JS, no libraries; every page works without it except the live updates.
(function () {
  "use strict";

  // UI text in the page's language (service/webapp/i18n.py JS_MESSAGES), {name} fields filled in
  var messages = {};
  try { messages = JSON.parse(document.getElementById("tp-messages").textContent || "{}"); } catch (e) { messages = {}; }
  function t(message, fields) {
    var text = messages[message] || message;
    Object.keys(fields || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(fields[k])); });
    return text;
  }

  function detailText(body) {
    if (!body) return "";
    var d = body.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map(function (e) { return (e.loc || []).join(".") + ": " + (e.msg || ""); }).join("; ");
    return JSON.stringify(d);
  }

  // -- upload ------------------------------------------------------------------------------
  var form = document.getElementById("upload-form");
  if (form) {
    var status = document.getElementById("upload-status");
    var errorBox = document.getElementById("upload-error");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      errorBox.hidden = true;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      status.textContent = t("Uploading…");
      var data = new FormData(form);
      // empty optional fields mean "detect": do not send them
      ["text_column", "id_column", "language_column", "metadata_columns", "sheet", "encoding"].forEach(function (k) {
        if (!String(data.get(k) || "").trim()) data.delete(k);
      });
      fetch(form.getAttribute("action"), { method: "POST", body: data, headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          if (!res.ok) throw new Error(detailText(res.body) || t("upload failed"));
          status.textContent = t("Uploaded: job {id} started.", { id: res.body.id });
          window.location.assign(form.dataset.jobsUrl + "/" + encodeURIComponent(res.body.id));
        })
        .catch(function (err) {
          status.textContent = "";
          errorBox.textContent = t("Upload refused: {why}", { why: err.message });
          errorBox.hidden = false;
          button.disabled = false;
          errorBox.focus();
        });
    });
  }

  // -- job progress ------------------------------------------------------------------------
  var progress = document.querySelector("[data-poll-job]");
  if (progress) {
    var bar = progress.querySelector("progress");
    var text = progress.querySelector("[data-progress-text]");
    var poll = function () {
      fetch(progress.dataset.pollJob, { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (bar) bar.value = job.progress;
          if (text) {
            var status = t(job.status) + (job.phase ? " (" + t(job.phase.replace("_", " ")) + ")" : "");
            text.textContent = t("{status}: {done} of {total} rows, {pct}%", {
              status: status, done: job.rows_done, total: job.total_rows, pct: Math.round(100 * job.progress)
            }) + (job.errors ? ", " + t("{n} rows with errors", { n: job.errors }) : "");
          }
          if (job.status === "completed" || job.status === "failed") window.location.reload();
          else window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }

  // -- theme updates after an edit -------------------------------------------------------------
  var updating = document.querySelector("[data-poll-state]");
  if (updating) {
    var check = function () {
      fetch(updating.dataset.pollState, { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.state === "updating") window.setTimeout(check, 1500);
          else window.location.reload();
        })
        .catch(function () { window.setTimeout(check, 3000); });
    };
    window.setTimeout(check, 1000);
  }

  // -- merge: the button says how many themes are chosen ---------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("form[data-merge]"), function (f) {
    var button = f.querySelector("button[type=submit]");
    var count = function () {
      var n = f.querySelectorAll("input[name=theme_ids]:checked").length + Number(f.dataset.merge || 0);
      button.textContent = n >= 2 ? t("Merge {n} themes", { n: n }) : t("Merge (choose at least two)");
    };
    f.addEventListener("change", count);
    count();
  });

  // -- print (the print stylesheet leaves the report: no forms, no navigation) ----------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    b.addEventListener("click", function () { window.print(); });
  });

  // -- a new share link: selected, ready to copy ----------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), function (input) {
    input.addEventListener("focus", function () { input.select(); });
    input.focus();
  });
})();
