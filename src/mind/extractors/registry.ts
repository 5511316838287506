/**
 * The interest extractors by name. The model, the CLI (`--extractor`, `--baseline`) and the web
 * demo look extractors up here; nothing else names one. Add an extractor by writing an
 * InterestExtractor (extractor.ts) and listing it below.
 */
import { comirecDrExtractor } from './comirec-dr.js';
import { comirecSaExtractor } from './comirec-sa.js';
import type { InterestExtractor } from './extractor.js';
import { meanPoolExtractor } from './mean-pool.js';
import { mindExtractor } from './mind-routing.js';

const EXTRACTORS: readonly InterestExtractor[] = [mindExtractor, meanPoolExtractor, comirecSaExtractor, comirecDrExtractor];

/** Every registered extractor's name, in registry order. */
export function extractorNames(): string[] {
  return EXTRACTORS.map((e) => e.name);
}

/** The extractor registered as `name`; throws a RangeError naming the known ones otherwise. */
export function getExtractor(name: string): InterestExtractor {
  const found = EXTRACTORS.find((e) => e.name === name);
  if (!found) throw new RangeError(`extractor must be one of ${extractorNames().join(', ')}, got ${JSON.stringify(name)}`);
  return found;
}

/**
 * The extractor name of a configuration written before the registry: `encoder: 'routing'` was
 * MIND, `encoder: 'meanPool'` the baseline. Undefined for any other value.
 */
export function extractorOfLegacyEncoder(encoder: unknown): string | undefined {
  return encoder === 'routing' ? 'mind' : encoder === 'meanPool' ? 'meanPool' : undefined;
}
