/*
 * DECIMAL values as text, exact: a DECIMAL(p, s) value is a string with exactly
 * s digits after the point ("12.3400", "-0.50", "7"), kept as an unscaled
 * bigint (1234..., scale s) wherever it is computed with. No float ever
 * touches it.
 */

const DECIMAL_TEXT = /^([+-])?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;

/** An exact decimal number: `unscaled` × 10^-`scale`. */
export interface Decimal {
  readonly unscaled: bigint;
  readonly scale: number;
}

/** Reads "12.5", "-0.001", "1e3", "1.50E-2"; null when the text is not a decimal number. */
export function readDecimal(text: string): Decimal | null {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (match === null) return null;
  const [, sign, whole, fraction = '', onlyFraction, exponent] = match;
  const digits = `${whole ?? ''}${onlyFraction ?? fraction}`;
  if (exponent !== undefined && Math.abs(Number(exponent)) > 1000) return null;
  let scale = (onlyFraction ?? fraction).length - Number(exponent ?? 0);
  let unscaled = BigInt(digits) * (sign === '-' ? -1n : 1n);
  if (scale < 0) {
    unscaled *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { unscaled, scale };
}

/** The same number at `scale` digits after the point; null when that would drop non-zero digits. */
export function rescale(value: Decimal, scale: number): bigint | null {
  if (scale >= value.scale) return value.unscaled * 10n ** BigInt(scale - value.scale);
  const divisor = 10n ** BigInt(value.scale - scale);
  return value.unscaled % divisor === 0n ? value.unscaled / divisor : null;
}

/** The text of `unscaled` × 10^-`scale`, with exactly `scale` digits after the point. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Orders two decimals exactly, whatever their scales. */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale)!;
  const y = rescale(b, scale)!;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A value given for DECIMAL(precision, scale) as its text with `scale`
 * digits, or the reason it does not fit. Strings and bigints are read
 * exactly; a number is read as the decimal it prints as (0.1 is "0.1").
 */
export function toDecimalText(value: unknown, precision: number, scale: number): { text: string } | { error: string } {
  let decimal: Decimal | null;
  if (typeof value === 'string') decimal = readDecimal(value);
  else if (typeof value === 'bigint') decimal = { unscaled: value, scale: 0 };
  else if (typeof value === 'number' && Number.isFinite(value)) decimal = readDecimal(String(value));
  else return { error: 'is not a decimal number (give a string such as "12.34", a bigint or a finite number)' };
  if (decimal === null) return { error: 'is not a decimal number' };
  const unscaled = rescale(decimal, scale);
  if (unscaled === null) return { error: `has more than ${scale} digit(s) after the point` };
  if ((unscaled < 0n ? -unscaled : unscaled) >= 10n ** BigInt(precision)) {
    return { error: `has more than ${precision - scale} digit(s) before the point` };
  }
  return { text: formatDecimal(unscaled, scale) };
}
