/**
 * `node stryker/summary.mjs <module>`: the mutation score per file of reports/mutation/<module>/
 * mutation.json (killed + timed out over all detected-or-survived, as Stryker counts it) and every
 * surviving or uncovered mutant with its line and replacement, for docs/mutation.md.
 */
import { readFileSync } from 'node:fs';

const name = process.argv[2];
if (!name) {
  console.error('usage: node stryker/summary.mjs <module>');
  process.exit(2);
}
const report = JSON.parse(readFileSync(`reports/mutation/${name}/mutation.json`, 'utf8'));
const totals = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
const rows = [];
const survivors = [];
for (const [file, { mutants, source }] of Object.entries(report.files)) {
  const count = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  const lines = source.split('\n');
  for (const m of mutants) {
    const key = m.status in count ? m.status : 'other';
    count[key]++;
    totals[key]++;
    if (m.status === 'Survived' || m.status === 'NoCoverage') {
      const line = m.location.start.line;
      survivors.push(`${file}:${line} ${m.status} ${m.mutatorName}: ${lines[line - 1].trim().slice(0, 100)}  =>  ${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80)}`);
    }
  }
  rows.push([file, count]);
}
const score = (c) => {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  return valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(1)}%`;
};
console.log('| file | killed | timed out | survived | no coverage | score |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const [file, c] of rows) console.log(`| ${file} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${score(c)} |`);
console.log(`| **${name}** | ${totals.Killed} | ${totals.Timeout} | ${totals.Survived} | ${totals.NoCoverage} | **${score(totals)}** |`);
console.log(`\n${survivors.length} surviving or uncovered mutants:`);
for (const s of survivors) console.log(s);
