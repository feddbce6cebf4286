/*
 * DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ values as ISO 8601 text, exact to
 * the microsecond (a JS Date holds milliseconds only):
 *
 *   DATE           "2024-02-29"
 *   TIME(p)        "13:45:30", "13:45:30.250", "13:45:30.250001"
 *   TIMESTAMP(p)   "2024-02-29T13:45:30.250001"      (a wall-clock time, no zone)
 *   TIMESTAMP_LTZ  "2024-02-29T13:45:30.250001Z"     (an instant, written in UTC)
 *
 * A second has 0 digits for precision 0, 3 for 1 to 3 and 6 for 4 to 6, as the
 * Arrow unit of the column (seconds, milliseconds, microseconds). Years run
 * from 0001 to 9999, as Python's datetime. Computations use days since
 * 1970-01-01 and microseconds (bigint).
 */

export const MICROS_PER_SECOND = 1_000_000n;
export const MICROS_PER_DAY = 86_400n * MICROS_PER_SECOND;

const MIN_DAY = daysFromCivil(1, 1, 1);
const MAX_DAY = daysFromCivil(9999, 12, 31);

/** Days since 1970-01-01 of a proleptic Gregorian date (any year). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The date `days` after 1970-01-01. */
export function civilFromDays(days: number): [year: number, month: number, day: number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Digits of a second shown for a precision: the Arrow unit's. */
export function fractionDigits(precision: number): 0 | 3 | 6 {
  return precision === 0 ? 0 : precision <= 3 ? 3 : 6;
}

const pad = (n: number | bigint, width: number) => String(n).padStart(width, '0');

export function formatDate(days: number): string {
  const [year, month, day] = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

export function formatTime(micros: bigint, digits: number): string {
  const seconds = micros / MICROS_PER_SECOND;
  const fraction = micros % MICROS_PER_SECOND;
  const text = `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}`;
  return digits === 0 ? text : `${text}.${pad(fraction, 6).slice(0, digits)}`;
}

/** Microseconds since 1970-01-01T00:00 as "YYYY-MM-DDTHH:MM:SS[.fff[fff]]", with "Z" for an instant. */
export function formatTimestamp(micros: bigint, digits: number, instant: boolean): string {
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    days -= 1n;
    rest += MICROS_PER_DAY;
  }
  return `${formatDate(Number(days))}T${formatTime(rest, digits)}${instant ? 'Z' : ''}`;
}

type Parsed<T> = { value: T } | { error: string };

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_TEXT = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

function dayOf(year: number, month: number, day: number): number | null {
  if (month < 1 || month > 12 || day < 1) return null;
  const days = daysFromCivil(year, month, day);
  if (civilFromDays(days)[2] !== day || days < MIN_DAY || days > MAX_DAY) return null;
  return days;
}

export function parseDate(text: string): Parsed<number> {
  const match = DATE_TEXT.exec(text.trim());
  const days = match && dayOf(Number(match[1]), Number(match[2]), Number(match[3]));
  return days === null || days === undefined ? { error: 'is not a date from 0001-01-01 to 9999-12-31 ("YYYY-MM-DD")' } : { value: days };
}

/** Microseconds since midnight, checked to hold no more digits of a second than `precision`. */
export function parseTime(text: string, precision: number): Parsed<bigint> {
  const match = TIME_TEXT.exec(text.trim());
  if (match === null) return { error: 'is not a time of day ("HH:MM:SS[.ffffff]")' };
  const [hours, minutes, seconds] = [match[1], match[2], match[3] ?? '0'].map(Number) as [number, number, number];
  if (hours > 23 || minutes > 59 || seconds > 59) return { error: 'is not a time of day from 00:00:00 to 23:59:59.999999' };
  const fraction = (match[4] ?? '').padEnd(9, '0');
  const kept = fraction.slice(0, precision);
  if (/[1-9]/.test(fraction.slice(precision))) {
    return { error: `has more than ${precision} digit(s) of a second` };
  }
  return { value: BigInt((hours * 60 + minutes) * 60 + seconds) * MICROS_PER_SECOND + BigInt(kept.padEnd(6, '0')) };
}

/**
 * Microseconds since 1970-01-01T00:00 of a wall-clock time (`instant` false: the
 * text has no zone) or of an instant (`instant` true: the text ends in "Z" or
 * an offset such as "+02:00").
 */
export function parseTimestamp(text: string, precision: number, instant: boolean): Parsed<bigint> {
  const match = TIMESTAMP_TEXT.exec(text.trim());
  const shape = instant ? '"YYYY-MM-DDTHH:MM:SS[.ffffff]" with "Z" or an offset such as "+02:00"' : '"YYYY-MM-DDTHH:MM:SS[.ffffff]"';
  if (match === null) return { error: `is not a timestamp (${shape})` };
  const zone = match[5];
  if (instant && zone === undefined) {
    return { error: 'has no time zone, but TIMESTAMP_LTZ holds instants: end it with "Z" or an offset such as "+02:00"' };
  }
  if (!instant && zone !== undefined) {
    return { error: 'has a time zone, but TIMESTAMP holds wall-clock times without one: drop the zone, or declare TIMESTAMP_LTZ' };
  }
  const days = dayOf(Number(match[1]), Number(match[2]), Number(match[3]));
  if (days === null) return { error: `is not a timestamp from year 0001 to 9999 (${shape})` };
  const time = parseTime(match[4]!, precision);
  if ('error' in time) return time;
  let micros = BigInt(days) * MICROS_PER_DAY + time.value;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const [, sign, hh, mm] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const offset = BigInt(Number(hh) * 60 + Number(mm)) * 60n * MICROS_PER_SECOND;
    micros += sign === '-' ? offset : -offset;
  }
  return inRange(micros);
}

/** A JS Date as microseconds since 1970-01-01T00:00 UTC (its UTC fields, for a wall-clock time). */
export function dateToMicros(date: Date, precision: number): Parsed<bigint> {
  const ms = date.getTime();
  if (Number.isNaN(ms)) return { error: 'is an invalid Date' };
  if (precision < 3 && ms % 10 ** (3 - precision) !== 0) return { error: `has more than ${precision} digit(s) of a second` };
  return inRange(BigInt(ms) * 1000n);
}

function inRange(micros: bigint): Parsed<bigint> {
  if (micros < BigInt(MIN_DAY) * MICROS_PER_DAY || micros >= BigInt(MAX_DAY + 1) * MICROS_PER_DAY) {
    return { error: 'is outside years 0001 to 9999' };
  }
  return { value: micros };
}

/** A JS Date standing for a DATE: only midnight UTC names one day exactly. */
export function dateToDays(date: Date): Parsed<number> {
  const ms = date.getTime();
  if (Number.isNaN(ms)) return { error: 'is an invalid Date' };
  if (ms % 86_400_000 !== 0) return { error: 'is not midnight UTC, so names no single date: give a "YYYY-MM-DD" string' };
  const days = ms / 86_400_000;
  return days < MIN_DAY || days > MAX_DAY ? { error: 'is outside years 0001 to 9999' } : { value: days };
}
