/* The citizen's wallet (/wallet). No build step, no framework.
 *
 * Certificates (bundles) are kept in this browser's IndexedDB, added from a share link (the share
 * is fetched encrypted and decrypted here: share.js), a QR code image holding a share link, or a
 * bundle file. Every certificate is verified again each time the page opens (POST <root>/verify,
 * as the verification page does); without a network the last stored answer is shown as such.
 * Nothing else leaves the browser: the share QR code is drawn here (qrcode-generator), exports are
 * local downloads. The certificate is drawn by render.js (renderCertificate), as on the verification
 * page. Everything shown is set with textContent: nothing from a bundle becomes markup.
 */
"use strict";

(function () {
  const I18N = window.CERTLEDGER_I18N;
  const Share = window.CertLedgerShare;
  const PageError = Share.PageError;
  const ROOT = Share.ROOT;
  const CHECKS = ["format", "integrity", "anchor", "issuer", "status", "validity"];
  const $ = (id) => document.getElementById(id);

  let lang = initialLanguage();
  let records = [];         // what IndexedDB holds, newest first
  const live = new Map();   // id -> {phase: "checking" | "done" | "offline"} for this opening of the page
  let shownQr = null;       // the record whose QR code is on screen

  // ------------------------------------------------------------------ language

  function initialLanguage() {
    let saved = null;
    try { saved = window.localStorage.getItem("certledger-lang"); } catch (e) { /* storage off */ }
    if (saved && I18N[saved]) return saved;
    const asked = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return asked.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
  }

  function t(key, vars) {
    let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
    if (vars) Object.keys(vars).forEach((k) => { s = s.split("{" + k + "}").join(vars[k]); });
    return s;
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.title = t("wallet.pageTitle");
    document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll(".lang button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    });
    renderList();
    if (shownQr) $("qr-title").textContent = titleOf(shownQr);
  }

  function setLanguage(next) {
    lang = next;
    try { window.localStorage.setItem("certledger-lang", next); } catch (e) { /* storage off */ }
    applyLanguage();
  }

  // ------------------------------------------------------------------ times: the reader's zone, UTC on hover

  function pad(n) { return String(n).padStart(2, "0"); }

  /** {text: "2026-12-07 19:50 (UTC+8)", utc: "2026-12-07T11:50:23Z"} in this browser's time zone. */
  function localTime(value) {
    const date = new Date(value);
    if (typeof value !== "string" || isNaN(date.getTime())) return { text: String(value || ""), utc: "" };
    const offset = -date.getTimezoneOffset();
    const sign = offset < 0 ? "-" : "+";
    const hours = Math.floor(Math.abs(offset) / 60), minutes = Math.abs(offset) % 60;
    const zone = offset === 0 ? "UTC" : "UTC" + sign + hours + (minutes ? ":" + pad(minutes) : "");
    return {
      text: date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
        pad(date.getHours()) + ":" + pad(date.getMinutes()) + " (" + zone + ")",
      utc: date.toISOString().replace(/\.\d+Z$/, "Z"),
    };
  }

  /** A server message with its UTC times (2026-12-07T11:50:23Z) in the reader's zone; the message as sent on hover. */
  function localised(tag, text, cls) {
    const local = text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, (iso) => localTime(iso).text);
    const node = el(tag, local, cls);
    if (local !== text) node.title = text;
    return node;
  }

  function timeNode(tag, template, value, cls) {
    const when = localTime(value);
    const node = el(tag, t(template, { when: when.text }), cls);
    if (when.utc) node.title = when.utc;
    return node;
  }

  // ------------------------------------------------------------------ IndexedDB

  const DB_NAME = "certledger-wallet";
  const STORE = "certificates";
  let dbOpening = null;

  function openDb() {
    if (!dbOpening) {
      dbOpening = new Promise((resolve, reject) => {
        let request;
        try { request = indexedDB.open(DB_NAME, 1); } catch (e) { reject(new PageError("STORAGE")); return; }
        request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => { dbOpening = null; reject(new PageError("STORAGE")); };
      });
    }
    return dbOpening;
  }

  async function store(mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = tx.onabort = () => reject(new PageError("STORAGE"));
    });
  }

  const loadAll = () => store("readonly", (s) => s.getAll());
  const save = (record) => store("readwrite", (s) => s.put(record));
  const remove = (id) => store("readwrite", (s) => s.delete(id));

  // ------------------------------------------------------------------ adding

  function bundleOf(text) {
    let bundle;
    try { bundle = JSON.parse(text); } catch (e) { throw new PageError("NOT_JSON"); }
    const credential = bundle && typeof bundle === "object" ? bundle.credential : null;
    if (!credential || typeof credential !== "object" || typeof credential.id !== "string") {
      throw new PageError("NOT_A_BUNDLE");
    }
    return bundle;
  }

  /** Keep a bundle (verified first when the verifier can be reached; refused if it is not a bundle). */
  async function add(text, source) {
    const bundle = bundleOf(text);
    busy("wallet.busyVerify");
    let report = null, checkedAt = null;
    try {
      report = await Share.postVerify(text);
      checkedAt = new Date().toISOString();
    } catch (e) {
      if (!(e instanceof PageError) || e.code !== "NETWORK") throw e;  // offline: kept, verified later
    }
    const id = bundle.credential.id;
    const before = records.find((r) => r.id === id);
    const record = {
      id: id,
      bundleText: text,
      link: source.link || (before && before.link) || null,
      source: source.kind,
      addedAt: before ? before.addedAt : new Date().toISOString(),
      report: report || (before && before.report) || null,
      checkedAt: checkedAt || (before && before.checkedAt) || null,
    };
    await save(record);
    live.set(id, { phase: report ? "done" : "offline" });
    records = [record].concat(records.filter((r) => r.id !== id));
    $("add").open = false;  // the certificate just added comes into view, not the form
    renderList();
    say(t(before ? "wallet.updated" : "wallet.added", { name: titleOf(record) }));
    const item = document.querySelector('.wallet-item[data-id="' + CSS.escape(id) + '"]');
    if (item) item.focus();
  }

  async function addLink(text) {
    Share.parseShareLink(text);  // a malformed link is refused before anything is fetched
    busy("wallet.busyFetch");
    const bundleText = await Share.bundleOfLink(text);
    await add(bundleText, { kind: "link", link: String(text).trim() });
  }

  async function addQr(file) {
    busy("wallet.busyQr");
    const link = await Share.linkOfQr(file);
    busy("wallet.busyFetch");
    await add(await Share.bundleOfLink(link), { kind: "qr", link: link });
  }

  async function addFile(file) {
    let text;
    try { text = await file.text(); } catch (e) { throw new PageError("FILE_UNREADABLE"); }
    await add(text, { kind: "file" });
  }

  // ------------------------------------------------------------------ verifying again

  async function recheck(record) {
    live.set(record.id, { phase: "checking" });
    renderItem(record);
    try {
      record.report = await Share.postVerify(record.bundleText);
      record.checkedAt = new Date().toISOString();
      live.set(record.id, { phase: "done" });
      await save(record);
    } catch (e) {
      live.set(record.id, { phase: e instanceof PageError && e.code === "NETWORK" ? "offline" : "failed" });
    }
    renderItem(record);
  }

  // ------------------------------------------------------------------ what a report says

  /** valid | revoked | suspended | invalid | error, from a report. */
  function stateOf(report) {
    if (!report) return "unchecked";
    if (report.verdict === "VALID") return "valid";
    if (report.verdict !== "INVALID") return "error";
    const status = (report.checks || []).find((c) => c.name === "status");
    if (status && status.status === "INVALID") {
      if (/REVOKED$/.test(status.code)) return "revoked";
      if (/SUSPENDED$/.test(status.code)) return "suspended";
    }
    return "invalid";
  }

  function messageOf(check) {
    const messages = check.messages || {};
    return (lang === "zh-CN" ? messages["zh-CN"] : messages.en) || check.message || check.code;
  }

  function reasonOf(report) {
    const failed = (report.checks || []).find((c) => c.status === "INVALID") ||
                   (report.checks || []).find((c) => c.status === "ERROR");
    return report.verdict === "VALID" || !failed ? "" : messageOf(failed);
  }

  function parsed(record) {
    try { return JSON.parse(record.bundleText); } catch (e) { return {}; }
  }

  function typeName(credential) {
    const types = Array.isArray(credential.type) ? credential.type : [];
    const name = types.length ? String(types[types.length - 1]) : "";
    return I18N.en["type." + name] ? t("type." + name) : name;
  }

  function titleOf(record) {
    const credential = parsed(record).credential || {};
    const subject = credential.credentialSubject && typeof credential.credentialSubject === "object"
      ? credential.credentialSubject : {};
    return [typeName(credential), typeof subject.name === "string" ? subject.name : ""].filter(Boolean).join(" · ")
      || record.id;
  }

  // ------------------------------------------------------------------ the card: render.js

  /** The certificate as its agency laid it out (render.js), the sensitive fields masked; the
   * agency's on-chain name and the anchor time once a verification vouched for them. */
  function cardFor(bundle, report) {
    const summary = report && report.verdict === "VALID" && report.credential ? report.credential : {};
    const agency = summary.issuer && summary.issuer.agency ? summary.issuer.agency : {};
    return window.renderCertificate(bundle, {
      lang: lang,
      reveal: false,
      issuerName: typeof agency.name === "string" ? agency.name : null,
      anchoredAt: typeof summary.anchoredAt === "string" ? summary.anchoredAt : null,
    });
  }

  // ------------------------------------------------------------------ the list

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function button(key, onClick, cls) {
    const b = el("button", t(key), "button" + (cls ? " " + cls : ""));
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function renderList() {
    const list = $("list");
    clear(list);
    $("empty").hidden = records.length > 0;
    if (!records.length) $("add").open = true;
    for (const record of records) list.appendChild(itemFor(record));
  }

  function renderItem(record) {
    const old = document.querySelector('.wallet-item[data-id="' + CSS.escape(record.id) + '"]');
    if (old) old.replaceWith(itemFor(record));
  }

  function itemFor(record) {
    const phase = (live.get(record.id) || { phase: "checking" }).phase;
    const report = record.report;
    const state = phase === "checking" ? "checking" : stateOf(report);
    const item = el("li", null, "wallet-item");
    item.tabIndex = -1;
    item.dataset.id = record.id;
    item.dataset.state = state;
    item.dataset.phase = phase;

    const verdict = el("div", null, "wallet-verdict " + state);
    const mark = { valid: "✓ ", revoked: "✗ ", suspended: "‖ ", invalid: "✗ ", error: "? " }[state] || "";
    verdict.appendChild(el("strong", mark + t("wallet.state." + state), "wallet-state"));
    if (state !== "checking" && report && reasonOf(report)) verdict.appendChild(localised("span", reasonOf(report), "wallet-reason"));
    if (phase === "offline") {
      verdict.appendChild(record.checkedAt
        ? timeNode("span", "wallet.offline", record.checkedAt, "wallet-when offline")
        : el("span", t("wallet.offlineNever"), "wallet-when offline"));
    } else if (phase === "done" && record.checkedAt) {
      verdict.appendChild(timeNode("span", "wallet.checkedAt", record.checkedAt, "wallet-when"));
    } else if (phase === "failed") {
      verdict.appendChild(el("span", t("error.other"), "wallet-when"));
    }
    item.appendChild(verdict);

    const card = el("div", null, "wallet-card certificate");
    // striped like the verification page's unverified certificate (render.css) unless valid now
    card.classList.toggle("unverified", state !== "valid" && state !== "checking");
    card.appendChild(cardFor(parsed(record), report));
    item.appendChild(card);

    if (report && Array.isArray(report.checks)) {
      const details = el("details", null, "wallet-checks");
      details.appendChild(el("summary", t("wallet.checksHeading")));
      const list = el("ol", null, "checks");
      for (const check of report.checks) {
        const li = el("li");
        li.dataset.check = check.name;
        li.appendChild(el("span", CHECKS.includes(check.name) ? t("check." + check.name) : check.name, "name"));
        const badge = el("span");
        badge.appendChild(el("span", t("status." + check.status), "badge " + check.status));
        li.appendChild(badge);
        li.appendChild(localised("span", messageOf(check)));
        list.appendChild(li);
      }
      details.appendChild(list);
      item.appendChild(details);
    }

    const added = localTime(record.addedAt);
    const source = el("p", t("wallet.source." + (record.source || "file")) + " · " + added.text, "hint wallet-source");
    source.title = added.utc;
    item.appendChild(source);

    const actions = el("div", null, "wallet-actions");
    const qr = button("wallet.showQr", () => openQr(record), "show-qr");
    if (!record.link) {
      qr.disabled = true;
      qr.setAttribute("aria-describedby", "no-link-" + cssId(record.id));
    }
    actions.appendChild(qr);
    actions.appendChild(button("wallet.export", () => exportBundle(record), "secondary export"));
    actions.appendChild(button("wallet.recheck", () => recheck(record), "secondary recheck"));
    actions.appendChild(button("wallet.delete", () => run(() => deleteRecord(record)), "danger delete"));
    item.appendChild(actions);
    if (!record.link) {
      const note = el("p", t("wallet.noLink"), "hint");
      note.id = "no-link-" + cssId(record.id);
      item.appendChild(note);
    }
    return item;
  }

  function cssId(id) { return id.replace(/[^A-Za-z0-9_-]/g, "_"); }

  // ------------------------------------------------------------------ actions

  function exportBundle(record) {
    const url = URL.createObjectURL(new Blob([record.bundleText], { type: "application/json" }));
    const a = el("a");
    a.href = url;
    a.download = "certificate-" + cssId(record.id.replace(/^urn:uuid:/, "")) + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function deleteRecord(record) {
    if (!window.confirm(t("wallet.confirmDelete", { name: titleOf(record) }))) return;
    await remove(record.id);
    records = records.filter((r) => r.id !== record.id);
    live.delete(record.id);
    renderList();
    say(t("wallet.deleted", { name: titleOf(record) }));
    $("list-heading").focus();
  }

  /** The share link as a QR code, full screen, drawn here: the link (and its key) stays in the browser. */
  function openQr(record) {
    const code = window.qrcode(0, "M");
    code.addData(record.link, "Byte");
    code.make();
    const modules = code.getModuleCount(), quiet = 4, cell = 8;
    const canvas = $("qr-canvas");
    canvas.width = canvas.height = (modules + 2 * quiet) * cell;
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.fillStyle = "#000";
    for (let r = 0; r < modules; r++) {
      for (let c = 0; c < modules; c++) {
        if (code.isDark(r, c)) context.fillRect((c + quiet) * cell, (r + quiet) * cell, cell, cell);
      }
    }
    shownQr = record;
    $("qr-title").textContent = titleOf(record);
    $("qr-screen").hidden = false;
    document.body.classList.add("qr-open");
    const screen = $("qr-screen");
    if (screen.requestFullscreen) screen.requestFullscreen().catch(() => { /* the overlay covers the page anyway */ });
    $("qr-close").focus();
  }

  function closeQr() {
    if (!shownQr) return;
    const id = shownQr.id;
    shownQr = null;
    $("qr-screen").hidden = true;
    document.body.classList.remove("qr-open");
    if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
    const item = document.querySelector('.wallet-item[data-id="' + CSS.escape(id) + '"] .show-qr');
    if (item) item.focus();
  }

  // ------------------------------------------------------------------ messages

  function busy(key) {
    $("problem").hidden = true;
    $("status").textContent = t(key);
  }

  function say(text) {
    $("problem").hidden = true;
    $("status").textContent = text;
  }

  function showProblem(error) {
    const code = error.code;
    $("problem-text").textContent = I18N.en["error." + code] ? t("error." + code) : t("error.other");
    $("problem-detail").textContent = error.detail ? error.detail + " (" + code + ")" : "";
    $("problem").hidden = false;
    $("status").textContent = "";
  }

  async function run(task) {
    try {
      await task();
    } catch (e) {
      showProblem(e instanceof PageError ? e : new PageError("INTERNAL_ERROR", String((e && e.message) || e)));
    }
  }

  // ------------------------------------------------------------------ wiring

  async function open() {
    records = (await loadAll()).sort((a, b) => (a.addedAt < b.addedAt ? 1 : -1));
    $("add").open = !records.length;  // on a phone the kept certificates come first
    records.forEach((r) => live.set(r.id, { phase: "checking" }));
    renderList();
    // Verified again on every opening: a revocation since the last visit shows now.
    await Promise.all(records.map(recheck));
  }

  function start() {
    document.querySelectorAll(".lang button").forEach((b) => b.addEventListener("click", () => setLanguage(b.dataset.lang)));
    applyLanguage();
    $("link-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("link").value;
      run(async () => { await addLink(text); $("link").value = ""; });
    });
    $("qr").addEventListener("change", (ev) => {
      const file = ev.target.files && ev.target.files[0];
      ev.target.value = "";
      if (file) run(() => addQr(file));
    });
    $("file").addEventListener("change", (ev) => {
      const file = ev.target.files && ev.target.files[0];
      ev.target.value = "";
      if (file) run(() => addFile(file));
    });
    $("qr-close").addEventListener("click", closeQr);
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") closeQr(); });
    document.addEventListener("fullscreenchange", () => { if (!document.fullscreenElement) closeQr(); });
    run(open);
    if ("serviceWorker" in navigator) {
      // Its scope is the wallet alone (the server allows it with Service-Worker-Allowed).
      navigator.serviceWorker.register(ROOT + "/wallet/sw.js", { scope: ROOT + "/wallet" }).catch(() => {
        /* no offline copy, the page works as it is */
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
