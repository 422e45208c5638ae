// The console works without this file; it adds keyboard shortcuts, drag and drop for
// uploads, and confirmation of destructive forms. No inline script anywhere (CSP).
(function () {
  "use strict";

  function typing(target) {
    const tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // j / k move through a list's items, Enter opens the focused one; n follows rel=next.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "n") {
      const next = document.querySelector('a[rel="next"]');
      if (next) { event.preventDefault(); window.location.assign(next.href); }
      return;
    }
    if (event.key !== "j" && event.key !== "k") return;
    const items = Array.from(document.querySelectorAll("[data-nav-item]"));
    if (!items.length) return;
    event.preventDefault();
    const current = items.findIndex(function (item) { return item.classList.contains("selected"); });
    let index = current < 0 ? 0 : current + (event.key === "j" ? 1 : -1);
    index = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (item) { item.classList.remove("selected"); });
    const chosen = items[index];
    chosen.classList.add("selected");
    const link = chosen.querySelector("a");
    if (link) link.focus();
    chosen.scrollIntoView({ block: "nearest" });
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function describe(zone, files) {
    const out = zone.querySelector("[data-chosen]");
    if (!out) return;
    const names = Array.from(files).map(function (file) { return file.name; });
    out.textContent = names.length ? names.length + " chosen: " + names.join(", ") : "";
  }

  function dropzones() {
    document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
      const input = zone.querySelector('input[type="file"]');
      if (!input || zone.dataset.ready) return;
      zone.dataset.ready = "1";
      input.addEventListener("change", function () { describe(zone, input.files); });
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          describe(zone, input.files);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", dropzones);
  document.addEventListener("htmx:load", dropzones);
})();
