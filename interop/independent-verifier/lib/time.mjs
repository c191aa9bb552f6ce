// XML Schema 1.1 dateTimeStamp as protocol.md 3.4 restricts it. Times are BigInt microseconds
// since 1970-01-01T00:00:00Z (proleptic Gregorian), fraction truncated to microseconds (3.4 rule 2).
//
// The grammar is the ABNF of 3.4 rule 1, matched against the whole string with ASCII digits only
// (1.3 rule 10: a JavaScript RegExp without the `m` flag has `$` only at the very end, and [0-9] is
// ASCII). The range of 3.4 rule 6 is applied in its two steps: the written date and time with
// 24:00:00 rolled into the next day, then the instant in UTC; each must lie within
// 0001-01-01T00:00:00 … 9999-12-31T23:59:59.999999.

const RE = new RegExp(
  '^(-?(?:0[0-9]{3}|[1-9][0-9]{3,}))' + // year: [ "-" ] ( "0" 3DIGIT / %x31-39 3*DIGIT )
    '-(0[1-9]|1[0-2])' + // month 01..12
    '-(0[1-9]|[12][0-9]|3[01])' + // day 01..31
    'T(?:' +
    '(?<h>[01][0-9]|2[0-3]):(?<mi>[0-5][0-9]):(?<s>[0-5][0-9])(?:\\.(?<f>[0-9]+))?' +
    '|(?<h24>24:00:00)(?:\\.(?<f24>0+))?' +
    ')' +
    '(Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))$',
);

export class DateError extends Error {}

export function daysFromCivil(y, m, d) {
  // Howard Hinnant's algorithm (proleptic Gregorian; any integer year)
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const US = 1000000n;
/** 0001-01-01T00:00:00 and 9999-12-31T23:59:59.999999 as microseconds on the same timeline. */
export const MIN_MICROS = BigInt(daysFromCivil(1, 1, 1)) * 86400n * US;
export const MAX_MICROS = BigInt(daysFromCivil(10000, 1, 1)) * 86400n * US - 1n;

/**
 * Parse a dateTimeStamp. Returns {micros: BigInt (UTC), utc: boolean (zone Z, +00:00 or -00:00)}.
 * Throws DateError when the text is not an acceptable dateTimeStamp.
 */
export function parseDateTimeStamp(s) {
  if (typeof s !== 'string') throw new DateError('not a string');
  const m = RE.exec(s);
  if (!m) throw new DateError('not an XML Schema dateTimeStamp with a time zone');
  const [, Y, Mo, D] = m;
  const zone = m[m.length - 1];
  const g = m.groups;
  // 3.4 rule 1: the written year from 0001 to 9999 (a leading "-", 0000 or five digits parse, then fail)
  if (!/^[0-9]{4}$/.test(Y) || Y === '0000') throw new DateError('year out of range 0001..9999');
  const year = Number(Y), month = Number(Mo), day = Number(D);
  // rule 5: the date must exist
  const dim = month === 2 && isLeap(year) ? 29 : DAYS[month - 1];
  if (day > dim) throw new DateError('day does not exist');
  let hour, minute, second, micro;
  if (g.h24 !== undefined) {
    hour = 24; minute = 0; second = 0; micro = 0n;
  } else {
    hour = Number(g.h); minute = Number(g.mi); second = Number(g.s);
    micro = g.f === undefined ? 0n : BigInt(g.f.slice(0, 6).padEnd(6, '0')); // rule 2: truncated
  }
  // rule 6 step 1: the written date and time, 24:00:00 being 00:00:00 of the next day
  const written =
    BigInt(daysFromCivil(year, month, day)) * 86400n * US +
    BigInt(hour * 3600 + minute * 60 + second) * US +
    micro;
  if (written < MIN_MICROS || written > MAX_MICROS) {
    throw new DateError('date value out of range (years 1-9999) once 24:00:00 is applied');
  }
  // rule 6 step 2: the instant in UTC
  let offsetMin = 0;
  let utc = true;
  if (zone !== 'Z') {
    const zh = Number(zone.slice(1, 3)), zm = Number(zone.slice(4, 6));
    offsetMin = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
    utc = zh === 0 && zm === 0;
  }
  const micros = written - BigInt(offsetMin) * 60n * US;
  if (micros < MIN_MICROS || micros > MAX_MICROS) {
    throw new DateError('date value out of range (years 1-9999) in UTC');
  }
  return { micros, utc };
}

export function microsFromDate(date) {
  return BigInt(date.getTime()) * 1000n;
}

/** The last second of year 9999, 9999-12-31T23:59:59Z, in seconds since 1970 (253402300799). */
export const LAST_WRITTEN_SECOND = BigInt(daysFromCivil(10000, 1, 1)) * 86400n - 1n;

/**
 * A chain time (uint64 seconds, 6.8) as 10.6 writes it: YYYY-MM-DDTHH:MM:SSZ, and a time after
 * 9999-12-31T23:59:59Z (t above 253402300799) as "<t> s after 1970-01-01T00:00:00Z", t in decimal.
 */
export function formatSeconds(sec) {
  const s = BigInt(sec);
  if (s > LAST_WRITTEN_SECOND) return `${s} s after 1970-01-01T00:00:00Z`;
  const days = s / 86400n;
  const rem = s % 86400n;
  // Howard Hinnant's civil_from_days, in BigInt (days >= 0 here)
  const z = days + 719468n;
  const era = z / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  const two = (x) => x.toString().padStart(2, '0');
  return `${y.toString().padStart(4, '0')}-${two(m)}-${two(d)}T${two(rem / 3600n)}:${two((rem / 60n) % 60n)}:${two(rem % 60n)}Z`;
}
