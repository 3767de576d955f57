// Copy buttons: <button class="copy" data-copy="VALUE"> puts VALUE on the clipboard and says so.
(function () {
  "use strict";
  var toast = null;

  function announce(button, text, ok) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = text;
    button.classList.toggle("copied", ok);
    button.classList.toggle("failed", !ok);
    toast = toast || document.querySelector(".toast");
    if (toast) {
      var value = button.getAttribute("data-copy");
      toast.textContent = ok ? "Copied to the clipboard: " + (value.length > 80 ? value.slice(0, 77) + "…" : value) : text;
      toast.hidden = false;
    }
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(function () {
      button.textContent = label;
      button.classList.remove("copied", "failed");
      if (toast) { toast.hidden = true; }
    }, 2000);
  }

  // Fallback for pages served over plain http from another machine (no secure context, no clipboard API).
  function copyWithSelection(value) {
    var area = document.createElement("textarea");
    area.value = value;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) { return; }
    event.preventDefault();
    var value = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(function () {
        announce(button, "Copied!", true);
      }, function () {
        var ok = copyWithSelection(value);
        announce(button, ok ? "Copied!" : "Copy failed: select and copy by hand", ok);
      });
    } else {
      var ok = copyWithSelection(value);
      announce(button, ok ? "Copied!" : "Copy failed: select and copy by hand", ok);
    }
  });
})();
