// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function focusSummary(root) {
    var box = (root || document).querySelector("[data-autofocus]");
    if (box) { box.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:afterSwap", function (e) { focusSummary(e.target); });
})();
