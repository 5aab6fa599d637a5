// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function focusSummary(root) {
    var box = (root || document).querySelector("[data-autofocus]");
    if (box) { box.focus(); }
  }

  // Live character count for long text (fields with data-maxlength, see components/forms.html).
  // Nothing is ever cut off: past the limit the count says by how much, and the server's message
  // next to the field says the same when the form is sent. Counted like the server counts:
  // spaces collapsed, characters (not UTF-16 units, so 𠮷 is one).
  function length(text) {
    return Array.from(text.normalize("NFC").replace(/\s+/g, " ").trim()).length;
  }

  var announceTimers = {};

  function updateCount(field, announce) {
    var max = parseInt(field.getAttribute("data-maxlength"), 10);
    var count = document.getElementById(field.id + "-count");
    if (!max || !count) { return; }
    var live = document.getElementById(field.id + "-count-live");
    if (!live) {  // screen readers hear the count once typing pauses, not at every key
      live = document.createElement("p");
      live.id = field.id + "-count-live";
      live.className = "visually-hidden";
      live.setAttribute("aria-live", "polite");
      count.parentNode.insertBefore(live, count.nextSibling);
    }
    var left = max - length(field.value);
    var text = left >= 0 ? "还可以填写 " + left + " 个字" : "超出了 " + (-left) + " 个字，请精简一些";
    count.textContent = text;
    count.classList.toggle("char-count--over", left < 0);
    if (announce) {
      clearTimeout(announceTimers[field.id]);
      announceTimers[field.id] = setTimeout(function () { live.textContent = text; }, 1000);
    }
  }

  function initCounts(root) {
    var fields = (root || document).querySelectorAll("[data-maxlength]");
    for (var i = 0; i < fields.length; i++) { updateCount(fields[i], false); }
  }

  document.addEventListener("input", function (e) {
    if (e.target && e.target.hasAttribute && e.target.hasAttribute("data-maxlength")) {
      updateCount(e.target, true);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); initCounts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { focusSummary(e.target); initCounts(document); });
  // "Please try again later" (429) comes as a small fragment: show it where the results go.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 429) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
})();
