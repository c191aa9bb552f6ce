// Strict JSON reader for protocol.md 3.3 and 7.2 rule 1.
//
// JSON.parse cannot be used: it silently keeps the last of duplicate member names, turns every
// number into a double (so `2` and `2.0` look the same, and 2^64-1 loses precision), and knows no
// depth limit. This reader keeps, for every number, its literal text; objects become Maps so that
// member names such as "__proto__" are ordinary data.

export class JsonError extends Error {}

/** A JSON number: the literal as written, and the IEEE 754 double it denotes (round to nearest). */
export class JNum {
  constructor(raw) {
    this.raw = raw;
    this.value = Number(raw); // correctly rounded; a literal too large becomes +/-Infinity
    // "an integer" (protocol.md 1.3 rule 8): a number token without fraction or exponent, of any
    // length, whose value is the exact integer it writes (-0 is 0)
    this.isIntegerToken = /^-?(0|[1-9][0-9]*)$/.test(raw);
  }
  bigint() {
    if (!this.isIntegerToken) throw new Error('not an integer token');
    return BigInt(this.raw);
  }
}

export const MAX_DEPTH = 512;

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/**
 * Parse a JSON text given as bytes (Uint8Array/Buffer). Refuses: a byte order mark, text that is
 * not UTF-8, invalid JSON (RFC 8259 grammar: NaN/Infinity are not JSON), duplicate member names
 * after unescaping, nesting deeper than MAX_DEPTH (the outermost array/object is level 1).
 */
export function parseStrict(bytes) {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new JsonError('byte order mark');
  }
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new JsonError('not UTF-8');
  }
  return parseText(text);
}

export function parseText(text) {
  let i = 0;
  const n = text.length;

  const fail = (why) => {
    throw new JsonError(`${why} at offset ${i}`);
  };
  const skipWs = () => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };

  function parseValue(depth) {
    skipWs();
    if (i >= n) fail('unexpected end');
    const c = text[i];
    if (c === '{') return parseObject(depth + 1);
    if (c === '[') return parseArray(depth + 1);
    if (c === '"') return parseString();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (c === '-' || (c >= '0' && c <= '9')) return parseNumber();
    fail(`unexpected character ${JSON.stringify(c)}`);
  }

  function literal(word, value) {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    fail('invalid literal');
  }

  function parseNumber() {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail('invalid number');
    i += m[0].length;
    return new JNum(m[0]);
  }

  function parseString() {
    i++; // opening quote
    let out = '';
    let start = i;
    while (true) {
      if (i >= n) fail('unterminated string');
      const code = text.charCodeAt(i);
      if (code === 0x22) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (code < 0x20) fail('control character in string');
      if (code === 0x5c) {
        out += text.slice(start, i);
        i++;
        if (i >= n) fail('unterminated escape');
        const e = text[i];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            const hex = text.slice(i + 1, i + 5);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape');
            out += String.fromCharCode(parseInt(hex, 16)); // lone surrogates are kept (3.3 rule 5)
            i += 4;
            break;
          }
          default:
            fail('invalid escape');
        }
        i++;
        start = i;
        continue;
      }
      i++;
    }
  }

  function parseArray(depth) {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    i++;
    const arr = [];
    skipWs();
    if (text[i] === ']') {
      i++;
      return arr;
    }
    while (true) {
      arr.push(parseValue(depth));
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') {
        i++;
        return arr;
      }
      fail('expected , or ]');
    }
  }

  function parseObject(depth) {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    i++;
    const obj = new Map();
    skipWs();
    if (text[i] === '}') {
      i++;
      return obj;
    }
    while (true) {
      skipWs();
      if (text[i] !== '"') fail('expected a member name');
      const key = parseString();
      if (obj.has(key)) fail(`duplicate member name ${JSON.stringify(key)}`);
      skipWs();
      if (text[i] !== ':') fail('expected :');
      i++;
      obj.set(key, parseValue(depth));
      skipWs();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return obj;
      }
      fail('expected , or }');
    }
  }

  const value = parseValue(0);
  skipWs();
  if (i !== n) fail('trailing data');
  return value;
}

// ---- helpers over the value model -------------------------------------------------------------

export const isObject = (v) => v instanceof Map;
export const isArray = (v) => Array.isArray(v);
export const isString = (v) => typeof v === 'string';
export const isNumber = (v) => v instanceof JNum;

/**
 * Equality of two JSON values as protocol.md 4.2 step 7 defines it for the proof's @context: strings
 * by code points; arrays by length and elements in order; objects by member names and values (order
 * does not matter); null equals only null; true and false equal only themselves; numbers by numeric
 * value (each read as a double, 3.7 rule 1: 1, 1.0 and 1e0 are equal); a number never equals a
 * boolean (true is not 1) or a string.
 */
export function deepEqual(a, b) {
  if (a instanceof JNum || b instanceof JNum) return a instanceof JNum && b instanceof JNum && a.value === b.value;
  if (isArray(a) || isArray(b)) {
    return isArray(a) && isArray(b) && a.length === b.length && a.every((x, k) => deepEqual(x, b[k]));
  }
  if (isObject(a) || isObject(b)) {
    if (!(isObject(a) && isObject(b)) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  return a === b; // strings, booleans, null
}

/** Convert a plain JS value (from JSON.parse, or built in code) into the model. */
export function fromPlain(v) {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return new JNum(String(v));
  if (Array.isArray(v)) return v.map(fromPlain);
  return new Map(Object.entries(v).map(([k, x]) => [k, fromPlain(x)]));
}
