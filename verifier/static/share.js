/* What the verification page and the wallet share: reading a share link, decrypting a share in
 * the browser (WebCrypto, AES-256-GCM, the key from the link's fragment), fetching a share and
 * posting a bundle to this verifier, reading a QR code image (jsQR, loaded on first use).
 * The key of a share link is never logged, shown or sent: it is used only in crypto.subtle.
 * Exposed as window.CertLedgerShare (no build step, no modules: one classic script).
 */
"use strict";

(function () {
  const ROOT = (document.querySelector('meta[name="certledger-root"]') || {}).content || "";

  class PageError extends Error {
    constructor(code, detail) { super(code); this.code = code; this.detail = detail || ""; }
  }

  function b64urlDecode(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new PageError("SHARE_MALFORMED");
    let s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    let binary;
    try { binary = atob(s); } catch (e) { throw new PageError("SHARE_MALFORMED"); }
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  /** {cid, key} from a share link, or a PageError. */
  function parseShareLink(text) {
    let url;
    try { url = new URL(String(text).trim(), window.location.href); } catch (e) { throw new PageError("LINK_INVALID"); }
    const match = url.pathname.match(/\/s\/(b[a-z2-7]{10,100})\/?$/);
    if (!match) throw new PageError("LINK_INVALID");
    const fragment = new URLSearchParams(url.hash.replace(/^#/, ""));
    const key = fragment.get("k");
    if (!key) throw new PageError("LINK_NO_KEY");
    if (!/^[A-Za-z0-9_-]{43}$/.test(key)) throw new PageError("DECRYPT_FAILED");
    return { cid: match[1], key: key };
  }

  async function openShare(envelopeBytes, keyText) {
    let envelope;
    try { envelope = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(envelopeBytes)); }
    catch (e) { throw new PageError("SHARE_MALFORMED"); }
    if (!envelope || envelope.v !== 1 || envelope.alg !== "A256GCM") throw new PageError("SHARE_MALFORMED");
    const iv = b64urlDecode(envelope.iv);
    const ct = b64urlDecode(envelope.ct);
    const raw = b64urlDecode(keyText);
    if (iv.length !== 12 || raw.length !== 32 || ct.length < 16) throw new PageError("SHARE_MALFORMED");
    if (!window.crypto || !window.crypto.subtle) throw new PageError("NO_WEBCRYPTO");
    const key = await crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, ["decrypt"]);
    let plain;
    try { plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: iv }, key, ct); }
    catch (e) { throw new PageError("DECRYPT_FAILED"); }
    try { return new TextDecoder("utf-8", { fatal: true }).decode(plain); }
    catch (e) { throw new PageError("SHARE_MALFORMED"); }
  }

  async function problemOf(response) {
    let body = null;
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    const code = body && typeof body.code === "string" ? body.code : "other";
    return new PageError(code, body && typeof body.detail === "string" ? body.detail : "HTTP " + response.status);
  }

  async function request(url, options) {
    try { return await fetch(url, options); } catch (e) { throw new PageError("NETWORK"); }
  }

  async function fetchShare(cid) {
    const response = await request(ROOT + "/content/" + encodeURIComponent(cid), { credentials: "omit" });
    if (!response.ok) throw await problemOf(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** The bundle's text behind a share link: fetched encrypted, decrypted here. */
  async function bundleOfLink(text) {
    const link = parseShareLink(text);
    const envelope = await fetchShare(link.cid);
    return openShare(envelope, link.key);
  }

  async function postVerify(bundleText) {
    const response = await request(ROOT + "/verify", {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: bundleText,
    });
    if (!response.ok) throw await problemOf(response);
    return response.json();
  }

  let jsQRLoading = null;
  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsQRLoading) {
      jsQRLoading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = ROOT + "/static/vendor/jsQR.js";
        script.onload = () => resolve(window.jsQR);
        script.onerror = () => { jsQRLoading = null; reject(new PageError("NETWORK")); };
        document.head.appendChild(script);
      });
    }
    return jsQRLoading;
  }

  /** The text of the QR code in an image file, or a PageError. */
  async function decodeQr(file) {
    const jsQR = await loadJsQR();
    let bitmap;
    try { bitmap = await createImageBitmap(file); } catch (e) { throw new PageError("IMAGE_UNREADABLE"); }
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const longest = Math.max(bitmap.width, bitmap.height);
    // Large photos are scanned scaled down first (faster, and often better), then at other sizes.
    const sizes = [Math.min(longest, 1200), Math.min(longest, 800), Math.min(longest, 2000)]
      .filter((v, i, all) => all.indexOf(v) === i);
    for (const size of sizes) {
      const scale = size / longest;
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      context.imageSmoothingEnabled = scale < 1;
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: "attemptBoth" });
      if (found && found.data) return found.data;
    }
    throw new PageError("QR_NOT_FOUND");
  }

  /** The share link in a QR code image: QR_NOT_LINK for a code that holds something else. */
  async function linkOfQr(file) {
    const text = await decodeQr(file);
    try { parseShareLink(text); } catch (e) {
      throw e.code === "LINK_NO_KEY" ? e : new PageError("QR_NOT_LINK");
    }
    return text;
  }

  window.CertLedgerShare = {
    ROOT: ROOT,
    PageError: PageError,
    request: request,
    problemOf: problemOf,
    parseShareLink: parseShareLink,
    openShare: openShare,
    fetchShare: fetchShare,
    bundleOfLink: bundleOfLink,
    postVerify: postVerify,
    decodeQr: decodeQr,
    linkOfQr: linkOfQr,
  };
})();
