/**
 * The train and experiment options are generated from the configurations' fields: every field
 * with a flag is an option whose default is the field's default, the flags the CLI always had
 * keep their names, and parsed flags become the configuration fields they name.
 */
import { describe, expect, test } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli.js';
import { defaultsOf, type Fields } from '../../src/config/fields.js';
import { DEFAULT_CONFIG, MODEL_FIELDS, resolveConfig } from '../../src/mind/config.js';
import { fieldsFromFlags } from '../../src/node/cli-options.js';
import { SCHEDULE_FIELDS, TRAINING_FIELDS } from '../../src/train/config.js';

function command(name: string): Command {
  const found = buildProgram().commands.find((c) => c.name() === name);
  if (!found) throw new Error(`no command ${name}`);
  return found;
}

/** The configuration a command's parsed options give (what the train and experiment actions build). */
function configOf(cmd: Command) {
  const flags = cmd.opts();
  return { ...fieldsFromFlags(MODEL_FIELDS, flags), ...fieldsFromFlags(TRAINING_FIELDS, flags) };
}

const ALL_FIELDS: Fields<Record<string, unknown>>[] = [MODEL_FIELDS, TRAINING_FIELDS, SCHEDULE_FIELDS] as never;

describe('options generated from the configurations', () => {
  test.each(['train', 'experiment'])('%s: every flagged field is an option with the field default; unparsed, they resolve to DEFAULT_CONFIG', (name) => {
    const cmd = command(name);
    for (const fields of ALL_FIELDS) {
      for (const [key, field] of Object.entries(fields)) {
        if (!field.flag) continue;
        const option = cmd.options.find((o) => o.flags === field.flag!.flags);
        expect(option, `${name} ${key}`).toBeDefined();
        if (field.flag.kind !== 'switchOff') expect(option!.defaultValue, key).toEqual(field.default);
      }
    }
    const config = configOf(cmd);
    expect(resolveConfig({ ...config, seed: DEFAULT_CONFIG.seed })).toEqual(DEFAULT_CONFIG);
    expect(fieldsFromFlags(SCHEDULE_FIELDS, cmd.opts())).toEqual({ epochs: 3, batchSize: 256 });
    expect(defaultsOf(SCHEDULE_FIELDS)).toEqual({ epochs: 3, batchSize: 256, maxSteps: undefined });
  });

  test('the flags the CLI always had keep their names', () => {
    const flags = command('train').options.map((o) => o.long);
    for (const flag of [
      '--k', '--dim', '--iterations', '--no-global-interest', '--p', '--candidate-score', '--hard-negative-beta', '--attention-mode',
      '--no-dynamic-k', '--softmax-over', '--routing-gradient', '--hidden', '--activation', '--dropout', '--profile-dim', '--l2',
      '--num-sampled', '--sampler', '--epochs', '--batch-size', '--lr', '--max-steps', '--no-baseline', '--seed', '--out', '--resume',
      '--extractor', '--baseline',
    ]) {
      expect(flags, flag).toContain(flag);
    }
  });

  test('parsed flags become the fields they name', () => {
    const cmd = command('train');
    cmd.parseOptions(['--k', '7', '--no-global-interest', '--lr', '0.1', '--hidden', '32,16', '--extractor', 'comirec-dr', '--p', 'Infinity', '--l2', '0.5', '--baseline', 'comirec-sa', '--epochs', '2']);
    const config = configOf(cmd);
    expect(config).toMatchObject({ kMax: 7, globalInterest: false, learningRate: 0.1, hiddenUnits: [32, 16], extractor: 'comirec-dr', attentionPower: Infinity, l2Embedding: 0.5 });
    expect(cmd.opts().baseline).toBe('comirec-sa');
    expect(fieldsFromFlags(SCHEDULE_FIELDS, cmd.opts())).toEqual({ epochs: 2, batchSize: 256 });
    const off = command('train');
    off.parseOptions(['--no-baseline']);
    expect(off.opts().baseline).toBe(false);
    expect(command('train').opts().baseline).toBe('meanPool');
  });
});
