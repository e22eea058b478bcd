// Touchpoints web app: upload through POST /v1/jobs/upload, poll job progress, reload after an edit.
// Plain JS, no libraries; every page works without it except the live updates.
(function () {
  "use strict";

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
      status.textContent = "Uploading…";
      var data = new FormData(form);
      // empty optional fields mean "detect": do not send them
      ["text_column", "id_column", "language_column", "metadata_columns", "sheet", "encoding"].forEach(function (k) {
        if (!String(data.get(k) || "").trim()) data.delete(k);
      });
      fetch(form.getAttribute("action"), { method: "POST", body: data, headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          if (!res.ok) throw new Error(detailText(res.body) || "upload failed");
          status.textContent = "Uploaded: job " + res.body.id + " started.";
          window.location.assign(form.dataset.jobsUrl + "/" + encodeURIComponent(res.body.id));
        })
        .catch(function (err) {
          status.textContent = "";
          errorBox.textContent = "Upload refused: " + err.message;
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
            text.textContent = job.status + (job.phase ? " (" + job.phase.replace("_", " ") + ")" : "") + ": " +
              job.rows_done + " of " + job.total_rows + " rows, " + Math.round(100 * job.progress) + "%" +
              (job.errors ? ", " + job.errors + " rows with errors" : "");
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
      button.textContent = n >= 2 ? "Merge " + n + " themes" : "Merge (choose at least two)";
    };
    f.addEventListener("change", count);
    count();
  });
})();
