/**
 * Unit conversions for mappings ("kg->g"). Units are named as people write them in either
 * language; a conversion is only allowed within one dimension, and a bad pair is a compile-time
 * error, never a wrong number at delivery time.
 */

interface Unit {
  dimension: 'mass' | 'length' | 'volume' | 'area';
  /** How many base units (g, mm, ml, m2) one of this unit is. */
  factor: number;
}

const UNITS: Record<string, Unit> = {};
function define(dimension: Unit['dimension'], factor: number, ...names: string[]): void {
  for (const name of names) UNITS[name] = { dimension, factor };
}
define('mass', 0.001, 'mg', 'мг');
define('mass', 1, 'g', 'г', 'гр');
define('mass', 1000, 'kg', 'кг');
define('mass', 100_000, 'ц');
define('mass', 1_000_000, 't', 'т');
define('length', 1, 'mm', 'мм');
define('length', 10, 'cm', 'см');
define('length', 100, 'dm', 'дм');
define('length', 1000, 'm', 'м');
define('length', 1_000_000, 'km', 'км');
define('volume', 1, 'ml', 'мл');
define('volume', 1000, 'l', 'л');
define('volume', 1_000_000, 'm3', 'м3', 'м³');
define('area', 1, 'cm2', 'см2', 'см²');
define('area', 10_000, 'm2', 'м2', 'м²');

function unit(name: string): Unit | undefined {
  return UNITS[name.trim().toLowerCase().replace(/\.$/, '')];
}

/** A converter from one unit to another; throws with the reason for a pair that cannot convert. */
export type Converter = (value: number) => number;

export function converterFor(from: string, to: string): Converter {
  const a = unit(from);
  const b = unit(to);
  const known = Object.keys(UNITS).join(', ');
  if (!a) throw new Error(`unknown unit "${from}"; known units: ${known}`);
  if (!b) throw new Error(`unknown unit "${to}"; known units: ${known}`);
  if (a.dimension !== b.dimension)
    throw new Error(`cannot convert ${a.dimension} (${from}) to ${b.dimension} (${to})`);
  const ratio = a.factor / b.factor;
  // Rounding to 12 significant digits hides binary float noise (0.1 kg → 100.00000000000001 g).
  return (value) => Number((value * ratio).toPrecision(12));
}

/** Parses "kg->g" (also "kg→g", "kg > g"). */
export function parseConversion(text: string): { from: string; to: string } {
  const parts = text.split(/\s*(?:->|→|>)\s*/);
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new Error(`conversion "${text}" must look like "kg->g"`);
  }
  return { from: parts[0], to: parts[1] };
}

const cache = new Map<string, Converter>();

/**
 * $convert(value, 'kg->g') on a number or numeric string, or $convert({ value, unit }, 'g') on
 * a canonical measure such as product.weight. Empty stays empty.
 */
export function convertValue(value: unknown, conversion: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let amount: unknown = value;
  let spec = conversion;
  if (typeof value === 'object' && !Array.isArray(value)) {
    const measure = value as { value?: unknown; unit?: unknown };
    if (typeof measure.unit !== 'string') throw new Error('$convert: the measure has no "unit"');
    amount = measure.value;
    const target =
      conversion.includes('>') || conversion.includes('→') ? parseConversion(conversion).to : conversion;
    spec = `${measure.unit}->${target}`;
  }
  const number = typeof amount === 'string' ? Number(amount.replace(',', '.')) : amount;
  if (typeof number !== 'number' || !Number.isFinite(number)) {
    throw new Error(`$convert: ${JSON.stringify(amount)} is not a number`);
  }
  let converter = cache.get(spec);
  if (!converter) {
    const { from, to } = parseConversion(spec);
    converter = converterFor(from, to);
    cache.set(spec, converter);
  }
  return converter(number);
}
