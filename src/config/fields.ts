/**
 * Configuration fields described once: each field's default, its validation and, when the CLI
 * offers it, its flag, help text and how the flag's text is parsed. The model configuration
 * (src/mind/config.ts) and the training configuration (src/train/config.ts) are tables of these;
 * their defaults, their validation and the CLI's options (src/node/cli-options.ts) are all
 * derived from the tables, so nothing is written twice.
 */

/** How a flag's text becomes a value (the CLI maps each kind to its parser and error messages). */
export type FlagKind =
  | { kind: 'int'; min?: number }
  | { kind: 'number' }
  | { kind: 'intList' }
  | { kind: 'choice'; choices: () => readonly string[] }
  /** A boolean that is on by default: the flag (`--no-…`) turns it off. */
  | { kind: 'switchOff' };

export interface Field<T> {
  default: T;
  /** Throws a RangeError naming `name` and the bad value unless `value` is valid. */
  check: (name: string, value: T) => void;
  /** The CLI option, when the CLI offers one: flag as commander writes it (`'--k <n>'`, `'--no-dynamic-k'`), help, parser. */
  flag?: { flags: string; help: string } & FlagKind;
}

/** A configuration's fields: one Field per key of C. */
export type Fields<C> = { [K in keyof C]-?: Field<C[K]> };

/** The defaults of every field (arrays copied). */
export function defaultsOf<C>(fields: Fields<C>): C {
  const out = {} as C;
  for (const key of Object.keys(fields) as (keyof C)[]) {
    const d = fields[key].default;
    out[key] = (Array.isArray(d) ? [...d] : d) as C[keyof C];
  }
  return out;
}

/**
 * `partial`'s values over the defaults, every field checked; keys of `partial` that are not
 * fields are ignored (they belong to the other configuration). Throws a RangeError naming the
 * first bad field and its value.
 */
export function resolveFields<C>(fields: Fields<C>, partial: Partial<C>): C {
  const out = defaultsOf(fields);
  for (const key of Object.keys(fields) as (keyof C)[]) {
    const value = partial[key];
    if (value !== undefined) out[key] = (Array.isArray(value) ? [...value] : value) as C[keyof C];
    fields[key].check(String(key), out[key]);
  }
  return out;
}

/** A value as written: a string quoted, so that "16" (from a hand-edited JSON file) is not shown as 16. */
export function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

export function positiveInt(max = Number.MAX_SAFE_INTEGER) {
  return (name: string, value: number): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`${name} must be an integer in [1, ${max}], got ${show(value)}`);
    }
  };
}

export function inRange(lo: number, hi: number) {
  return (name: string, value: number): void => {
    if (typeof value !== 'number' || !(value >= lo && value <= hi)) throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${show(value)}`);
  };
}

export function oneOf<T extends string>(allowed: () => readonly T[]) {
  return (name: string, value: T): void => {
    if (!allowed().includes(value)) throw new RangeError(`${name} must be one of ${allowed().join(', ')}, got ${show(value)}`);
  };
}

export function isBoolean(name: string, value: boolean): void {
  if (typeof value !== 'boolean') throw new RangeError(`${name} must be true or false, got ${show(value)}`);
}
