// Search suggestions under the search boxes (input[data-quicksearch]); the forms work without this script.
(function () {
  "use strict";

  function attach(input) {
    var list = input.parentNode.querySelector(".suggestions");
    var url = input.getAttribute("data-quicksearch");
    var timer = null;
    var active = -1;
    var seq = 0;

    function clear() { list.textContent = ""; list.hidden = true; active = -1; }

    function item(href, text, kind) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;  // never innerHTML: names come from users
      var small = document.createElement("small");
      small.textContent = kind;
      a.appendChild(small);
      li.appendChild(a);
      list.appendChild(li);
    }

    function show(data) {
      list.textContent = "";
      ["models", "datasets", "spaces"].forEach(function (key) {
        (data[key] || []).forEach(function (repo) { item(repo.url, repo.id, key.slice(0, -1)); });
      });
      (data.namespaces || []).forEach(function (ns) { item(ns.url, ns.name, ns.type === "org" ? "organisation" : "user"); });
      list.hidden = !list.firstChild;
      active = -1;
    }

    function query() {
      var q = input.value.trim();
      if (!q) { clear(); return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && mine === seq) { show(data); } })
        .catch(function () { clear(); });
    }

    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(query, 150); });
    input.addEventListener("keydown", function (event) {
      var options = list.querySelectorAll("a");
      if (!options.length) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        active = (active + (event.key === "ArrowDown" ? 1 : -1) + options.length) % options.length;
        options.forEach(function (a, i) { a.classList.toggle("active", i === active); });
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        window.location.href = options[active].href;
      } else if (event.key === "Escape") {
        clear();
      }
    });
    input.addEventListener("blur", function () { setTimeout(clear, 200); });
  }

  document.querySelectorAll("input[data-quicksearch]").forEach(attach);
})();
