// XML Schema 1.1 dateTimeStamp as protocol.md 3.4 restricts it. Times are BigInt microseconds
// since 1970-01-01T00:00:00Z (proleptic Gregorian), fraction truncated to microseconds (3.4 rule 2).

const RE =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$/;

export class DateError extends Error {}

function daysFromCivil(y, m, d) {
  // Howard Hinnant's algorithm
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Parse a dateTimeStamp. Returns {micros: BigInt (UTC), utc: boolean (zone Z, +00:00 or -00:00)}.
 * Throws DateError when the text is not an acceptable dateTimeStamp.
 */
export function parseDateTimeStamp(s) {
  if (typeof s !== 'string') throw new DateError('not a string');
  const m = RE.exec(s);
  if (!m) throw new DateError('not an XML Schema dateTimeStamp with a time zone');
  const [, Y, Mo, D, h, mi, se, frac, zone] = m;
  const year = +Y, month = +Mo, day = +D, hour = +h, minute = +mi, second = +se;
  if (year < 1 || year > 9999) throw new DateError('year out of range');
  if (month < 1 || month > 12) throw new DateError('month out of range');
  const dim = month === 2 && isLeap(year) ? 29 : DAYS[month - 1];
  if (day < 1 || day > dim) throw new DateError('day does not exist');
  if (minute > 59 || second > 59) throw new DateError('minute or second out of range');
  let micro = 0n;
  if (frac !== undefined) micro = BigInt(frac.slice(0, 6).padEnd(6, '0'));
  if (hour === 24) {
    if (minute !== 0 || second !== 0 || (frac !== undefined && /[1-9]/.test(frac))) {
      throw new DateError('24:00:00 only with zero minutes, seconds and fraction');
    }
  } else if (hour > 23) throw new DateError('hour out of range');
  let offsetMin = 0;
  let utc = true;
  if (zone !== 'Z') {
    const zh = +zone.slice(1, 3), zm = +zone.slice(4, 6);
    if (zm > 59) throw new DateError('zone minutes out of range');
    if (zh > 14 || (zh === 14 && zm !== 0)) throw new DateError('zone out of range');
    offsetMin = (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm);
    utc = zh === 0 && zm === 0;
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetMin * 60;
  return { micros: BigInt(seconds) * 1000000n + micro, utc };
}

export function microsFromDate(date) {
  return BigInt(date.getTime()) * 1000n;
}

export function formatSeconds(sec) {
  return new Date(Number(sec) * 1000).toISOString().replace(/\.000Z$/, 'Z');
}
