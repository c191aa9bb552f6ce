// RFC 8785 JSON Canonicalization Scheme over the value model of json.mjs (protocol.md 4.3).

import { JNum } from './json.mjs';

export class NotCanonicalizable extends Error {}

const encoder = new TextEncoder();

/** JCS bytes (UTF-8) of a value of the model. Throws NotCanonicalizable (lone surrogate, non-finite number). */
export function jcsBytes(value) {
  return encoder.encode(jcsText(value));
}

export function jcsText(value) {
  const parts = [];
  write(value, parts);
  return parts.join('');
}

function write(v, out) {
  if (v === null) return out.push('null');
  if (v === true) return out.push('true');
  if (v === false) return out.push('false');
  if (typeof v === 'string') return out.push(quote(v));
  if (v instanceof JNum) return out.push(number(v.value));
  if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, k) => {
      if (k) out.push(',');
      write(x, out);
    });
    return out.push(']');
  }
  if (v instanceof Map) {
    // Sort by UTF-16 code units: JavaScript's default string order is exactly that.
    const keys = [...v.keys()];
    for (const k of keys) checkWellFormed(k);
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    out.push('{');
    keys.forEach((k, idx) => {
      if (idx) out.push(',');
      out.push(quote(k), ':');
      write(v.get(k), out);
    });
    return out.push('}');
  }
  throw new Error(`not a JSON value: ${typeof v}`);
}

function number(d) {
  if (!Number.isFinite(d)) throw new NotCanonicalizable('number is not finite');
  if (d === 0) return '0'; // also -0
  // ECMAScript Number.prototype.toString is the JCS number form (RFC 8785 3.2.2.3).
  return String(d);
}

function checkWellFormed(s) {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(k + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) throw new NotCanonicalizable('lone surrogate');
      k++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new NotCanonicalizable('lone surrogate');
    }
  }
}

const SHORT = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

function quote(s) {
  checkWellFormed(s);
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (SHORT[c] !== undefined) out += SHORT[c];
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[k];
  }
  return out + '"';
}
