/* CertLedger verifier page. No build step, no framework.
 *
 * Three ways in: a certificate (bundle) file, a share link, a QR code image holding a share link.
 * A share link is <verifier>/s/<cid>#k=<key>: the page fetches the encrypted share from
 * <root>/content/<cid>, decrypts it here with WebCrypto (AES-256-GCM, the key from the fragment),
 * then POSTs the bundle to <root>/verify and shows the report. The key never leaves the browser:
 * it is read from the fragment (which no request carries) and used only in crypto.subtle.
 * Everything shown is set with textContent: nothing from a file or the server becomes markup.
 * The link, decryption, /verify and QR code reading are share.js's, which the wallet uses too.
 * The certificate itself is drawn by render.js (renderCertificate) from the layout the credential
 * carries; times are shown in the reader's time zone, UTC on hover.
 */
"use strict";

(function () {
  const I18N = window.CERTLEDGER_I18N;
  const Share = window.CertLedgerShare;  // share links, decryption, /verify, QR images (share.js)
  const PageError = Share.PageError;
  const CHECKS = ["format", "integrity", "anchor", "issuer", "status", "validity"];
  const $ = (id) => document.getElementById(id);
  const R = window.CertLedgerRender;

  let lang = initialLanguage();
  let last = null;  // what is shown: {report, bundle, source} or {problem}, re-rendered on a language switch
  let reveal = false;  // sensitive fields shown in full (display only: the verifier has them anyway)
  let viewData = false;
  // performance.now() of the last verification answer and of its certificate on screen (the browser tests read it)
  const timing = (window.__certledgerTiming = { answer: null, shown: null });

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
    document.title = t("pageTitle");
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll(".lang button").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    });
    if (last) render(last, false);
  }

  function setLanguage(next) {
    lang = next;
    try { window.localStorage.setItem("certledger-lang", next); } catch (e) { /* storage off */ }
    applyLanguage();
  }

  // ------------------------------------------------------------------ the three ways in

  async function verifyText(text, source) {
    busy("busy");
    const report = await Share.postVerify(text);
    timing.answer = performance.now();
    timing.shown = null;
    let bundle = null;
    try { bundle = JSON.parse(text); } catch (e) { /* shown from the report alone */ }
    show({ report: report, bundle: bundle, source: source, text: text });
  }

  async function verifyLink(text, sourceKind) {
    Share.parseShareLink(text);  // a malformed link is refused before anything is fetched
    busy("busyFetch");
    const bundleText = await Share.bundleOfLink(text);
    await verifyText(bundleText, { kind: sourceKind || "link" });
  }

  async function verifyFile(file) {
    let text;
    try { text = await file.text(); } catch (e) { throw new PageError("FILE_UNREADABLE"); }
    await verifyText(text, { kind: "file", name: file.name });
  }

  async function verifyQr(file) {
    busy("busyQr");
    await verifyLink(await Share.linkOfQr(file), "qr");
  }

  async function run(task) {
    try {
      await task();
    } catch (e) {
      show({ problem: e instanceof PageError ? e : new PageError("INTERNAL_ERROR", String(e && e.message || e)) });
    }
  }

  // ------------------------------------------------------------------ rendering

  function busy(key) {
    $("status").classList.remove("done");
    $("status").textContent = t(key);
    $("result").setAttribute("aria-busy", "true");
  }

  function show(state) {
    last = state;
    render(state, true);
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  /** The check's message as the server wrote it (its times in UTC: the hover title). */
  function utcMessageOf(check) {
    const messages = check.messages || {};
    return (lang === "zh-CN" ? messages["zh-CN"] : messages.en) || check.message || check.code;
  }

  /** The same, its UTC times shown in the reader's zone. */
  function messageOf(check) {
    return String(utcMessageOf(check)).replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, (iso) => R.localTime(iso).text);
  }

  function render(state, announce) {
    $("result").removeAttribute("aria-busy");
    $("status").classList.add("done");
    if (state.problem) {
      $("result").hidden = true;
      $("problem").hidden = false;
      const code = state.problem.code;
      $("problem-text").textContent = I18N.en["error." + code] ? t("error." + code) : t("error.other");
      $("problem-detail").textContent = state.problem.detail ? state.problem.detail + " (" + code + ")" : "";
      $("status").textContent = t("errorHeading") + ": " + $("problem-text").textContent;
      return;
    }
    $("problem").hidden = true;
    const report = state.report;
    const verdict = ["VALID", "INVALID", "ERROR"].includes(report.verdict) ? report.verdict : "ERROR";
    $("verdict-box").className = "verdict " + verdict;
    $("verdict").textContent = (verdict === "VALID" ? "✓ " : verdict === "INVALID" ? "✗ " : "? ") + t("verdict." + verdict);
    $("verdict-lead").textContent = t("verdictLead." + verdict);
    const failed = (report.checks || []).find((c) => c.status === "INVALID") ||
                   (report.checks || []).find((c) => c.status === "ERROR");
    $("verdict-reason").textContent = verdict === "VALID" || !failed ? "" : messageOf(failed);

    const list = $("checks");
    clear(list);
    for (const check of report.checks || []) {
      const item = el("li");
      item.dataset.check = check.name;
      item.appendChild(el("span", CHECKS.includes(check.name) ? t("check." + check.name) : check.name, "name"));
      const badge = el("span", t("status." + check.status), "badge " + check.status);
      const status = el("span");
      status.appendChild(badge);
      item.appendChild(status);
      const message = el("span");
      const said = el("span", messageOf(check) + " ");
      if (said.textContent.trim() !== utcMessageOf(check)) said.title = utcMessageOf(check);
      message.appendChild(said);
      message.appendChild(el("span", check.code, "code"));
      item.appendChild(message);
      list.appendChild(item);
    }
    renderCredential(report, state.bundle, state.source, verdict);
    $("result").hidden = false;
    if (timing.answer !== null && timing.shown === null) timing.shown = performance.now();
    if (announce) {
      $("status").textContent = t("verdict." + verdict) + ($("verdict-reason").textContent ? " — " + $("verdict-reason").textContent : "");
      $("verdict").focus();
    } else {
      $("status").textContent = t("verdict." + verdict);
    }
  }

  function renderCredential(report, bundle, source, verdict) {
    const summary = report.credential || {};
    const credential = bundle && typeof bundle === "object" && bundle.credential && typeof bundle.credential === "object"
      ? bundle.credential : {};
    const anchor = bundle && bundle.anchor && typeof bundle.anchor === "object" ? bundle.anchor : null;
    $("credential-heading").textContent = verdict === "VALID" ? t("credentialHeading") : t("claimedHeading");
    const dl = $("credential");
    clear(dl);
    const add = (label, value, mono) => {
      if (value === undefined || value === null || value === "") return;
      dl.appendChild(el("dt", t(label)));
      dl.appendChild(el("dd", value, mono ? "mono" : undefined));
    };
    // a time in the reader's zone, the UTC text on hover
    const addTime = (label, iso) => {
      const shown = R.localTime(iso);
      if (!shown) return;
      dl.appendChild(el("dt", t(label)));
      const dd = el("dd");
      const node = el("time", shown.text);
      node.dateTime = iso;
      node.title = shown.title;
      dd.appendChild(node);
      dl.appendChild(dd);
    };
    const typeName = summary.type || (Array.isArray(credential.type) ? credential.type[credential.type.length - 1] : "");
    if (typeName) add("field.type", I18N.en["type." + typeName] ? t("type." + typeName) + " (" + typeName + ")" : typeName);
    const issuer = summary.issuer || credential.issuer || {};
    // The agency as the chain records it (its on-chain name, once the issuer check has read it),
    // else as the credential claims it.
    const agency = issuer.agency && typeof issuer.agency === "object" ? issuer.agency : {};
    const claimedCode = typeof credential.issuer === "object" && credential.issuer && typeof credential.issuer.agency === "string"
      ? credential.issuer.agency.replace(/^urn:certledger:agency:/, "") : null;
    add("field.issuer", agency.name || issuer.name);
    add("field.agencyCode", agency.code || claimedCode, true);
    add("field.signingKey", issuer.id, true);
    add("field.id", summary.id || credential.id, true);
    addTime("field.validFrom", credential.validFrom);
    if (credential.validFrom) {
      if (credential.validUntil) addTime("field.validUntil", credential.validUntil);
      else add("field.validUntil", t("noExpiry"));
    }
    if (summary.anchoredAt) addTime("field.anchoredAt", summary.anchoredAt);
    else if (!anchor) add("field.anchoredAt", t("notAnchored"));
    if (anchor) {
      add("field.block", typeof anchor.blockNumber === "number" ? String(anchor.blockNumber) : null, true);
      add("field.txHash", typeof anchor.txHash === "string" ? anchor.txHash : null, true);
      add("field.ledger", typeof anchor.ledger === "string" ? anchor.ledger : null, true);
    }
    if (source) add("field.source", source.kind === "file" ? t("source.file", { name: source.name || "" }) : t("source." + source.kind));

    // the certificate as its agency laid it out (render.js), above the checks
    const holder = $("certificate");
    clear(holder);
    const agencyName = verdict === "VALID" && typeof agency.name === "string" ? agency.name : null;
    holder.appendChild(window.renderCertificate(bundle, {
      lang: lang, reveal: reveal, issuerName: agencyName,
      anchoredAt: typeof summary.anchoredAt === "string" ? summary.anchoredAt : null,
    }));
    holder.classList.toggle("unverified", verdict !== "VALID");

    // "view data": the raw claims, by JSON key; sensitive ones masked unless revealed
    const body = $("claims").tBodies[0];
    clear(body);
    const subject = credential.credentialSubject && typeof credential.credentialSubject === "object"
      ? credential.credentialSubject : null;
    $("raw").hidden = !viewData || !subject;
    $("view-data").setAttribute("aria-pressed", String(viewData));
    $("reveal").setAttribute("aria-pressed", String(reveal));
    $("reveal").hidden = R.sensitivePaths(credential).size === 0;
    if (!subject) return;
    const sensitive = R.sensitivePaths(credential);
    for (const key of Object.keys(subject)) {
      const row = el("tr");
      const th = el("th", key, "mono");
      th.scope = "row";
      row.appendChild(th);
      const value = subject[key];
      const text = typeof value === "string" ? value : JSON.stringify(value);
      row.appendChild(el("td", sensitive.has(R.escapePointer(key)) && !reveal ? R.mask(text) : text));
      body.appendChild(row);
    }
  }

  // ------------------------------------------------------------------ printing

  /** The A4 document (the verifier makes it from the bundle, the same renderer as `certledger render
   * --pdf`). Only the bundle is sent, as for /verify: never the share link, whose key stays here. */
  async function printPdf() {
    if (!last || !last.text) return;
    const query = "?lang=" + (lang === "zh-CN" ? "zh" : "en") + (reveal ? "&reveal=1" : "") +
      "&tz=" + encodeURIComponent(-new Date().getTimezoneOffset());
    const response = await Share.request(Share.ROOT + "/render/pdf" + query, {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: last.text,
    });
    if (!response.ok) throw await Share.problemOf(response);
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = "certificate.pdf";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  // ------------------------------------------------------------------ wiring

  function start() {
    document.querySelectorAll(".lang button").forEach((b) => b.addEventListener("click", () => setLanguage(b.dataset.lang)));
    applyLanguage();
    $("view-data").addEventListener("click", () => { viewData = !viewData; if (last) render(last, false); });
    $("reveal").addEventListener("click", () => { reveal = !reveal; if (last) render(last, false); });
    $("print").addEventListener("click", () => run(printPdf));

    $("file").addEventListener("change", (ev) => {
      const file = ev.target.files && ev.target.files[0];
      ev.target.value = "";
      if (file) run(() => verifyFile(file));
    });
    $("qr").addEventListener("change", (ev) => {
      const file = ev.target.files && ev.target.files[0];
      ev.target.value = "";
      if (file) run(() => verifyQr(file));
    });
    $("link-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $("link").value;
      run(() => verifyLink(text, "link"));
    });

    const drop = $("drop");
    ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (ev) => {
      ev.preventDefault();
      drop.classList.add("dragging");
    }));
    ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, () => drop.classList.remove("dragging")));
    drop.addEventListener("drop", (ev) => {
      ev.preventDefault();
      const file = ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files[0];
      if (file) run(() => (file.type.startsWith("image/") ? verifyQr(file) : verifyFile(file)));
    });
    // A file dropped elsewhere must not navigate away from the page.
    window.addEventListener("dragover", (ev) => ev.preventDefault());
    window.addEventListener("drop", (ev) => ev.preventDefault());

    // Opened from a share link: <root>/s/<cid>#k=<key>
    if (/\/s\/[^/]+\/?$/.test(window.location.pathname)) {
      run(() => verifyLink(window.location.href, "link"));
    }
    window.addEventListener("hashchange", () => {
      if (/\/s\/[^/]+\/?$/.test(window.location.pathname)) run(() => verifyLink(window.location.href, "link"));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
