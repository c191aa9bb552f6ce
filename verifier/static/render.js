/* CertLedger certificate renderer: a credential's display layout (docs/protocol.md §14) drawn with
 * DOM calls only. No build step; a plain script that defines two globals:
 *
 *   renderCertificate(bundle, {lang, reveal, issuerName, anchoredAt}) -> HTMLElement
 *   CertLedgerRender = {layoutOf, sensitivePaths, displayValue, mask, formatDate, localTime, humanise, …}
 *
 * The layout is data, never code: every text from the credential or its layout reaches the page
 * through textContent or a title attribute, never as markup, and no layout value becomes a URL, a
 * style or an event handler. A layout that breaks a rule of §14 is not used: the card then shows
 * the generic layout (every claim, labelled from its key) and says why.
 * The Python renderer (ledger/protocol/layout.py) reads the same layouts by the same rules.
 */
"use strict";

(function (global) {
  const LAYOUT_SUITE = "certledger-layout-1";
  const LANGS = ["en", "zh"];
  const MAX_TEXT = 500;
  const MAX_STATEMENT = 2000;
  const MAX_SECTIONS = 10;
  const MAX_FIELDS = 60;
  const POINTER = /^(\/([^~/]|~[01])*)+$/;
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  const WORDS = {
    en: { reveal: "Show", hide: "Hide", masked: "hidden: sensitive", validFrom: "Valid from", validUntil: "Valid until",
      id: "Certificate ID", issuer: "Issued by", anchoredAt: "Anchored on the ledger",
      layoutProblem: "The certificate's own layout could not be used ({why}); all its claims are shown instead." },
    zh: { reveal: "显示", hide: "隐藏", masked: "已隐藏：敏感信息", validFrom: "生效时间", validUntil: "失效时间",
      id: "证书编号", issuer: "签发机构", anchoredAt: "上链存证时间",
      layoutProblem: "无法使用证书自带的版式（{why}），以下显示其全部声明。" },
  };

  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const chars = (s) => Array.from(s);  // code points, as Python counts them

  // ------------------------------------------------------------------ layout rules (§14.2)

  class LayoutError extends Error {}

  function onlyKeys(obj, allowed, where) {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) throw new LayoutError(where + "." + key + ": unknown member");
    }
  }

  function checkText(value, where, max) {
    if (!isObject(value)) throw new LayoutError(where + ": must be an object of texts by language");
    onlyKeys(value, LANGS, where);
    if (!LANGS.some((l) => l in value)) throw new LayoutError(where + ": needs an en or zh text");
    for (const l of LANGS) {
      if (!(l in value)) continue;
      const s = value[l];
      if (typeof s !== "string" || s.trim() === "" || chars(s).length > max) {
        throw new LayoutError(where + "." + l + ": must be a non-blank string of at most " + max + " characters");
      }
    }
  }

  function checkLayout(layout) {
    if (!isObject(layout)) throw new LayoutError("template: must be an object");
    onlyKeys(layout, ["title", "statement", "sections"], "template");
    checkText(layout.title, "template.title", MAX_TEXT);
    if ("statement" in layout) checkText(layout.statement, "template.statement", MAX_STATEMENT);
    const sections = layout.sections;
    if (!Array.isArray(sections) || sections.length < 1 || sections.length > MAX_SECTIONS) {
      throw new LayoutError("template.sections: must be an array of 1 to " + MAX_SECTIONS + " sections");
    }
    let count = 0;
    sections.forEach((section, i) => {
      const where = "template.sections[" + i + "]";
      if (!isObject(section)) throw new LayoutError(where + ": must be an object");
      onlyKeys(section, ["heading", "fields"], where);
      if ("heading" in section) checkText(section.heading, where + ".heading", MAX_TEXT);
      if (!Array.isArray(section.fields) || section.fields.length < 1) {
        throw new LayoutError(where + ".fields: must be a non-empty array");
      }
      section.fields.forEach((field, j) => {
        const at = where + ".fields[" + j + "]";
        if (!isObject(field)) throw new LayoutError(at + ": must be an object");
        onlyKeys(field, ["label", "path", "format", "sensitive"], at);
        checkText(field.label, at + ".label", MAX_TEXT);
        if (typeof field.path !== "string" || !POINTER.test(field.path) || chars(field.path).length > MAX_TEXT) {
          throw new LayoutError(at + ".path: must be a JSON pointer such as /name");
        }
        if ("format" in field && field.format !== "text" && field.format !== "date") {
          throw new LayoutError(at + ".format: must be text or date");
        }
        if ("sensitive" in field && typeof field.sensitive !== "boolean") {
          throw new LayoutError(at + ".sensitive: must be true or false");
        }
        count += 1;
      });
    });
    if (count > MAX_FIELDS) throw new LayoutError("template: at most " + MAX_FIELDS + " fields");
    return layout;
  }

  function humanise(key) {
    const spaced = String(key).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ").trim().toLowerCase();
    return spaced ? spaced.charAt(0).toUpperCase() + spaced.slice(1) : String(key);
  }

  function escapePointer(key) { return "/" + String(key).replace(/~/g, "~0").replace(/\//g, "~1"); }

  function typeOf(credential) {
    return Array.isArray(credential.type) && typeof credential.type[1] === "string" ? credential.type[1] : "Credential";
  }

  /** The generic layout: every claim in the credential's order, labelled from its key. */
  function defaultLayout(credential) {
    const subject = isObject(credential.credentialSubject) ? credential.credentialSubject : {};
    const fields = Object.keys(subject).slice(0, MAX_FIELDS)
      .map((key) => ({ label: { en: humanise(key) }, path: escapePointer(key) }));
    return { title: { en: humanise(typeOf(credential)) }, sections: fields.length ? [{ fields: fields }] : [] };
  }

  /** {layout, source: "credential" | "default", problem}: the layout to draw `credential` with. */
  function layoutOf(credential) {
    credential = isObject(credential) ? credential : {};
    const methods = Array.isArray(credential.renderMethod) ? credential.renderMethod
      : (credential.renderMethod === undefined ? [] : [credential.renderMethod]);
    const ours = methods.find((m) => isObject(m) && m.renderSuite === LAYOUT_SUITE);
    if (!ours) return { layout: defaultLayout(credential), source: "default", problem: null };
    try {
      if (ours.type !== "TemplateRenderMethod") throw new LayoutError("renderMethod.type: must be TemplateRenderMethod");
      return { layout: checkLayout(ours.template), source: "credential", problem: null };
    } catch (e) {
      if (!(e instanceof LayoutError)) throw e;
      return { layout: defaultLayout(credential), source: "default", problem: e.message };
    }
  }

  // ------------------------------------------------------------------ values

  function resolve(subject, pointer) {
    let here = subject;
    for (const raw of pointer.split("/").slice(1)) {
      const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (Array.isArray(here) && /^(0|[1-9][0-9]*)$/.test(part)) here = here[Number(part)];
      else if (isObject(here) && Object.prototype.hasOwnProperty.call(here, part)) here = here[part];
      else return undefined;
    }
    return here;
  }

  /** 330106196001011960 -> 330106********1960: the first 6 and last 4 characters of 11 or more, else none. */
  function mask(text) {
    const c = chars(text);
    if (c.length >= 11) return c.slice(0, 6).join("") + "*".repeat(c.length - 10) + c.slice(-4).join("");
    return "*".repeat(c.length);
  }

  function formatDate(text, lang) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) return text;
    const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
    const probe = new Date(Date.UTC(2000, mo - 1, d));  // a leap year: 29 February passes here...
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (mo < 1 || mo > 12 || probe.getUTCDate() !== d || (mo === 2 && d === 29 && !leap)) return text;  // ...and here
    return lang === "zh" ? y + "年" + mo + "月" + d + "日" : d + " " + MONTHS[mo - 1] + " " + m[1];
  }

  /** The claim's text as the layout shows it, before masking; null when the claim is absent. */
  function displayValue(value, format, lang) {
    if (value === undefined || value === null) return null;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return format === "date" ? formatDate(text, lang) : text;
  }

  /** A UTC dateTime as the reader's local time: {text: "2026-12-07 19:50", title: "2026-12-07T11:50:23Z"}. */
  function localTime(iso) {
    if (typeof iso !== "string") return null;
    const when = new Date(iso);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || isNaN(when.getTime())) return { text: iso, title: iso };
    const p = (n) => String(n).padStart(2, "0");
    return {
      text: when.getFullYear() + "-" + p(when.getMonth() + 1) + "-" + p(when.getDate()) + " " +
        p(when.getHours()) + ":" + p(when.getMinutes()),
      title: iso,
    };
  }

  // ------------------------------------------------------------------ drawing

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const pick = (text, lang) => (text ? text[lang] || text[lang === "zh" ? "en" : "zh"] : "");

  /** A value, masked when sensitive and not revealed, with its own show/hide button. */
  function valueNode(text, sensitive, reveal, lang) {
    const span = el("span", "cl-value");
    if (!sensitive) { span.textContent = text; return span; }
    const shown = el("span", "cl-sensitive");
    const button = el("button", "cl-reveal");
    button.type = "button";
    let open = reveal;
    const draw = () => {
      shown.textContent = open ? text : mask(text);
      shown.title = open ? "" : WORDS[lang].masked;
      button.textContent = open ? WORDS[lang].hide : WORDS[lang].reveal;
      button.setAttribute("aria-pressed", String(open));
      span.dataset.revealed = String(open);
    };
    button.addEventListener("click", () => { open = !open; draw(); });
    draw();
    span.appendChild(shown);
    span.appendChild(document.createTextNode(" "));
    span.appendChild(button);
    return span;
  }

  function timeNode(iso) {
    const t = localTime(iso);
    const node = el("time", null, t.text);
    node.dateTime = iso;
    node.title = t.title;
    return node;
  }

  function renderCertificate(bundle, options) {
    options = options || {};
    const lang = String(options.lang || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
    const credential = isObject(bundle) && isObject(bundle.credential) ? bundle.credential : {};
    const subject = isObject(credential.credentialSubject) ? credential.credentialSubject : {};
    const found = layoutOf(credential);
    const layout = found.layout;
    const sensitivePaths = new Set();
    const formats = {};
    for (const section of layout.sections) {
      for (const field of section.fields) {
        if (field.sensitive) sensitivePaths.add(field.path);
        if (!(field.path in formats)) formats[field.path] = field.format || "text";
      }
    }

    const card = el("article", "cl-cert");
    card.lang = lang === "zh" ? "zh-CN" : "en";
    card.dataset.layout = found.source;
    card.dataset.type = typeOf(credential);
    const header = el("header", "cl-head");
    const issuer = options.issuerName || (isObject(credential.issuer) ? credential.issuer.name : "");
    if (typeof issuer === "string" && issuer) header.appendChild(el("p", "cl-issuer", issuer));
    header.appendChild(el("h2", "cl-title", pick(layout.title, lang)));
    card.appendChild(header);
    if (found.problem) card.appendChild(el("p", "cl-problem", WORDS[lang].layoutProblem.replace("{why}", found.problem)));

    if (layout.statement) {
      const statement = el("p", "cl-statement");
      // "{/pointer}" places a claim in the sentence; everything else is literal text
      for (const part of pick(layout.statement, lang).split(/(\{\/[^{}]*\})/)) {
        const pointer = /^\{(\/[^{}]*)\}$/.exec(part);
        if (pointer && POINTER.test(pointer[1])) {
          const text = displayValue(resolve(subject, pointer[1]), formats[pointer[1]], lang);
          statement.appendChild(text === null ? el("span", "cl-missing", "—")
            : valueNode(text, sensitivePaths.has(pointer[1]), !!options.reveal, lang));
        } else if (part) {
          statement.appendChild(document.createTextNode(part));
        }
      }
      card.appendChild(statement);
    }

    for (const section of layout.sections) {
      const box = el("section", "cl-section");
      if (section.heading) box.appendChild(el("h3", "cl-heading", pick(section.heading, lang)));
      const list = el("dl", "cl-fields");
      for (const field of section.fields) {
        const text = displayValue(resolve(subject, field.path), field.format, lang);
        if (text === null) continue;
        const row = el("div", "cl-field");
        row.dataset.path = field.path;
        row.appendChild(el("dt", null, pick(field.label, lang)));
        const dd = el("dd");
        dd.appendChild(valueNode(text, !!field.sensitive, !!options.reveal, lang));
        row.appendChild(dd);
        list.appendChild(row);
      }
      if (list.firstChild) { box.appendChild(list); card.appendChild(box); }
    }

    const foot = el("footer", "cl-foot");
    const line = (label, node) => {
      const p = el("p");
      p.appendChild(el("span", "cl-foot-label", label + ": "));
      p.appendChild(node);
      foot.appendChild(p);
    };
    if (typeof credential.validFrom === "string") line(WORDS[lang].validFrom, timeNode(credential.validFrom));
    if (typeof credential.validUntil === "string") line(WORDS[lang].validUntil, timeNode(credential.validUntil));
    if (typeof options.anchoredAt === "string") line(WORDS[lang].anchoredAt, timeNode(options.anchoredAt));
    if (typeof credential.id === "string") line(WORDS[lang].id, el("span", "cl-id", credential.id));
    card.appendChild(foot);
    return card;
  }

  /** The pointers the credential's layout marks sensitive (to mask the raw claims as well). */
  function sensitivePaths(credential) {
    const out = new Set();
    for (const section of layoutOf(credential).layout.sections) {
      for (const field of section.fields) if (field.sensitive) out.add(field.path);
    }
    return out;
  }

  global.renderCertificate = renderCertificate;
  global.CertLedgerRender = {
    LAYOUT_SUITE: LAYOUT_SUITE, layoutOf: layoutOf, displayValue: displayValue, mask: mask,
    formatDate: formatDate, localTime: localTime, humanise: humanise, resolve: resolve,
    sensitivePaths: sensitivePaths, escapePointer: escapePointer,
  };
})(window);
