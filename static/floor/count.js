/* The scan page, enhanced: the page's own forms (scan, set or remove a line, remove an unknown code) are
 * sent with fetch and answered in JSON, so a scan never reloads the page and the code field keeps the
 * focus for the next one. A keyboard-wedge scanner types the code and Enter faster than a request takes,
 * so submissions wait in a queue and go one at a time, in order: the list is kept in the session and
 * each request sees the previous one's result. Without this script the same forms post and redirect back.
 * No inline script or style anywhere: a strict Content-Security-Policy (script-src 'self') holds. */
(function () {
  "use strict";

  var RETRY_MS = 2000;

  function start() {
    var root = document.getElementById("floor-sheet");
    if (!root) { return; }
    var scanForm = document.getElementById("scan-form");
    var code = document.getElementById("scan-code");
    var quantity = document.getElementById("scan-quantity");
    var status = document.getElementById("scan-status");
    var lines = document.getElementById("count-lines").tBodies[0];
    var lineTemplate = document.getElementById("line-template");
    var unknownSection = document.getElementById("unknown-codes");
    var unknownRows = document.getElementById("unknown-rows");
    var unknownTemplate = document.getElementById("unknown-template");
    var reviewLink = document.getElementById("review-link");
    var queue = [];
    var busy = false;
    var broken = false;
    var leaving = null;

    function say(level, message) {
      status.textContent = message;
      status.className = "floor-status floor-" + level;
    }

    function setPending() {
      root.dataset.pending = String(queue.length);
      root.dataset.state = queue.length ? "sending" : "idle";
    }

    function enqueue(form, submitter, done, label) {
      var data = new FormData(form, submitter || undefined);
      queue.push({ url: form.action, data: data, done: done, label: label });
      setPending();
      pump();
    }

    function pump() {
      if (busy || broken || !queue.length) {
        if (!queue.length && leaving) { window.location.href = leaving; }
        return;
      }
      busy = true;
      var job = queue[0];
      fetch(job.url, { method: "POST", body: job.data, credentials: "same-origin",
                       headers: { Accept: "application/json" } })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") !== 0) {
            // The login page (session ended) or a server error page: stop, and say what was not sent.
            broken = true;
            var unsent = queue.map(function (j) { return j.label; }).filter(Boolean);
            say("error", "The server did not take this (" + response.status + "): reload the page" +
                (unsent.length ? " and scan again: " + unsent.join(", ") : "") + ".");
            return;
          }
          return response.json().then(function (body) {
            queue.shift();
            say(body.level, body.message);
            if (body.sheet) { showSheet(body.sheet); }
            if (job.done) { job.done(body); }
          });
        }, function () {
          say("error", "No connection; retrying " + (job.label || "") + "…");
          return new Promise(function (resolve) { setTimeout(resolve, RETRY_MS); });
        })
        .then(function () {
          busy = false;
          setPending();
          pump();
        });
    }

    function showSheet(sheet) {
      document.getElementById("total-lines").textContent = sheet.lines;
      document.getElementById("total-units").textContent = sheet.units;
      unknownRows.replaceChildren();
      sheet.unknown.forEach(function (entry) {
        var row = unknownTemplate.content.firstElementChild.cloneNode(true);
        row.dataset.code = entry.code;
        row.querySelector(".code").textContent = entry.code;
        row.querySelector(".scans").textContent = entry.scans;
        row.querySelector("input[name=code]").value = entry.code;
        unknownRows.appendChild(row);
      });
      unknownSection.hidden = sheet.unknown.length === 0;
      var empty = lines.querySelector(".floor-empty");
      if (empty && sheet.lines) { empty.remove(); }
    }

    function findRow(variantId) {
      return lines.querySelector('tr.count-line[data-variant="' + variantId + '"]');
    }

    function showLine(line, toTop) {
      var row = findRow(line.variant_id);
      if (!row) {
        row = lineTemplate.content.firstElementChild.cloneNode(true);
        row.dataset.variant = line.variant_id;
        row.querySelector("input[name=variant]").value = line.variant_id;
        row.querySelector(".sku").textContent = line.sku;
        var name = row.querySelector(".name");
        name.textContent = line.name + " ";
        if (line.options) {
          var options = document.createElement("span");
          options.className = "floor-options";
          options.textContent = line.options;
          name.appendChild(options);
        }
        row.querySelector("input.counted").setAttribute("aria-label", "Counted " + line.sku);
      }
      row.querySelector("input.counted").value = line.counted;
      if (toTop) { lines.insertBefore(row, lines.firstElementChild); }
      row.classList.remove("just-counted");
      void row.offsetWidth; // restart the highlight
      row.classList.add("just-counted");
    }

    scanForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var typed = code.value.trim();
      if (!typed) {
        say("error", "Scan or type a barcode or SKU.");
        code.focus();
        return;
      }
      enqueue(scanForm, null, function (body) { if (body.line) { showLine(body.line, true); } }, typed);
      code.value = "";
      quantity.value = "";
      code.focus();
    });

    lines.addEventListener("submit", function (event) {
      var form = event.target.closest("form.line-form");
      if (!form) { return; }
      event.preventDefault();
      var row = form.closest("tr");
      var removing = event.submitter && event.submitter.name === "remove";
      enqueue(form, event.submitter, function (body) {
        if (!body.ok) { return; }
        if (removing) { row.remove(); } else if (body.line) { showLine(body.line, false); }
      }, null);
      code.focus();
    });

    unknownRows.addEventListener("submit", function (event) {
      var form = event.target.closest("form.unknown-form");
      if (!form) { return; }
      event.preventDefault();
      enqueue(form, event.submitter, null, null);
      code.focus();
    });

    // Reviewing while scans are still on their way would review an older list: wait for them.
    reviewLink.addEventListener("click", function (event) {
      if (queue.length) {
        event.preventDefault();
        leaving = reviewLink.href;
        say("info", "Sending the last scans, then opening the review…");
      }
    });

    document.getElementById("discard-form").addEventListener("submit", function (event) {
      if (!window.confirm("Discard the whole list? Nothing has been posted yet.")) { event.preventDefault(); }
    });

    setPending();
    code.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
