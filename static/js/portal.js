// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function focusSummary(root) {
    var box = (root || document).querySelector("[data-autofocus]");
    if (box) { box.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:afterSwap", function (e) { focusSummary(e.target); });
  // "Please try again later" (429) comes as a small fragment: show it where the results go.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 429) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
})();
