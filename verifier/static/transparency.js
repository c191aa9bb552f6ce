/* The whole-ledger page's latest events, kept fresh: every few seconds, ask for the events newer than
   the newest one shown and put them on top. Without this script the page shows the list as it was
   drawn. Every text goes in through textContent: nothing from the answer is parsed as HTML. */
"use strict";

(function () {
  var body = document.getElementById("events");
  if (!body || !window.fetch) return;
  var labels = JSON.parse(body.getAttribute("data-labels") || "{}");
  var api = body.getAttribute("data-api");
  var agencyBase = body.getAttribute("data-agency-base");
  var lang = body.getAttribute("data-lang");
  var max = parseInt(body.getAttribute("data-max"), 10) || 20;
  var after = body.getAttribute("data-after");

  function short(hex) { return hex ? hex.slice(0, 14) + "…" : ""; }

  function label(key, fallback) { return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : fallback; }

  function details(e) {
    if (e.event === "Anchored") return e.count.toLocaleString() + " " + label("credentialsN", "") + " · " + short(e.root);
    if (e.event === "StatusChanged" || e.event === "RootStatusChanged") {
      return label("state." + e.state, e.state) + " · " + label("r." + e.reason, "#" + e.reason) + " · " +
        short(e.digest || e.root);
    }
    if (e.name) return e.name;
    if (e.operator) return e.operator;
    if (e.publicKey) return short(e.publicKey);
    if (e.type || e.typeId) return (e.type || short(e.typeId)) + (e.permitted ? " ✓" : " ✗");
    if (e.active !== undefined && e.active !== null) return e.active ? "✓" : "✗";
    return "";
  }

  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function row(e) {
    var tr = document.createElement("tr");
    tr.className = "fresh";
    cell(tr, e.time.replace("T", " ").replace("Z", ""));
    var td = cell(tr, "");
    var a = document.createElement("a");
    a.href = agencyBase + encodeURIComponent(e.agency) + "?lang=" + encodeURIComponent(lang);
    a.textContent = e.agency;
    td.appendChild(a);
    cell(tr, label("ev." + e.event, e.event));
    cell(tr, details(e), "mono");
    cell(tr, String(e.block));
    return tr;
  }

  function poll() {
    fetch(api + "?limit=" + max + "&after=" + encodeURIComponent(after), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (page) {
        if (!page) return;
        after = page.latest || after;
        var items = page.items || [];
        for (var i = items.length - 1; i >= 0; i--) body.insertBefore(row(items[i]), body.firstChild);
        while (body.rows.length > max) body.deleteRow(body.rows.length - 1);
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  setInterval(poll, 5000);
})();
