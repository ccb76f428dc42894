// Small enhancements on top of pages that work without JavaScript.
// - [data-copy="<id>"] buttons copy the text of element <id> (a secret shown once).
// - .thread elements stay scrolled to their newest message when htmx refreshes them.
"use strict";

document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});

function scrollThreads() {
  document.querySelectorAll(".thread").forEach(function (thread) {
    thread.scrollTop = thread.scrollHeight;
  });
}
document.addEventListener("DOMContentLoaded", scrollThreads);
document.addEventListener("htmx:afterSwap", scrollThreads);
