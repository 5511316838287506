/**
 * Command-line options generated from configuration fields (src/config/fields.ts): each field
 * with a flag becomes one commander Option with its help, parser, choices and default, and the
 * parsed flags become a partial configuration. The model and training configurations' flags
 * (src/mind/config.ts, src/train/config.ts) are all made here; none is written by hand.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Field, Fields } from '../config/fields.js';

/** An integer option; with `min`, also at least that (so --seed -1 or --epochs 0 fail before any work). */
export function int(name: string, min?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    if (min !== undefined && n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${value}`);
    return n;
  };
}

/** A number option (Infinity allowed: `--p Infinity` is hard attention). */
export function num(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (Number.isNaN(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

/** Comma-separated words, blanks dropped. */
export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Comma-separated integers. */
export function intList(name: string) {
  return (value: string): number[] => list(value).map((v) => int(name)(v));
}

/** The commander Option of a field's flag. */
function optionOf(field: Field<unknown>): Option {
  const flag = field.flag!;
  const name = flag.flags.split(/[ ,]/)[0];
  const option = new Option(flag.flags, flag.help);
  switch (flag.kind) {
    case 'int':
      return option.argParser(int(name, flag.min)).default(field.default);
    case 'number':
      return option.argParser(num(name)).default(field.default);
    case 'intList':
      return option.argParser(intList(name)).default(field.default);
    case 'choice':
      return option.choices(flag.choices()).default(field.default);
    case 'switchOff':
      // commander's `--no-x` option: x is true unless the flag is given.
      return option;
  }
}

/** Adds every flagged field of `fields` to `command`, in the table's order. */
export function addFieldOptions<C>(command: Command, fields: Fields<C>): Command {
  for (const key of Object.keys(fields) as (keyof C)[]) {
    const field = fields[key] as Field<unknown>;
    if (field.flag) command.addOption(optionOf(field));
  }
  return command;
}

/** The values the parsed `flags` give the flagged fields of `fields` (commander's attribute names mapped back to the fields'). */
export function fieldsFromFlags<C>(fields: Fields<C>, flags: Record<string, unknown>): Partial<C> {
  const out: Partial<C> = {};
  for (const key of Object.keys(fields) as (keyof C)[]) {
    const field = fields[key] as Field<unknown>;
    if (!field.flag) continue;
    const value = flags[new Option(field.flag.flags).attributeName()];
    if (value !== undefined) out[key] = value as C[keyof C];
  }
  return out;
}
