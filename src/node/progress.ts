/**
 * Training progress on stderr: a live bar with loss and samples/s on a terminal, one line per
 * report otherwise (CI logs, pipes).
 */
import cliProgress from 'cli-progress';
import type { TrainProgress } from '../train/trainer.js';

export class ProgressReporter {
  private bar: cliProgress.SingleBar | undefined;
  private epoch = 0;

  constructor(private readonly name: string) {}

  update(p: TrainProgress): void {
    const tty = process.stderr.isTTY;
    if (p.phase === 'train') {
      if (tty && (!this.bar || p.epoch !== this.epoch)) {
        this.bar?.stop();
        this.bar = new cliProgress.SingleBar(
          { format: `${this.name} epoch ${p.epoch}/${p.epochs} [{bar}] {value}/{total} steps | loss {loss} | {speed} samples/s`, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(Math.min(p.stepsPerEpoch, p.totalSteps), 0, { loss: '-', speed: '-' });
      }
      this.epoch = p.epoch;
      const payload = { loss: p.loss?.toFixed(4) ?? '-', speed: p.samplesPerSecond?.toFixed(0) ?? '-' };
      if (this.bar) this.bar.update(p.step, payload);
      else process.stderr.write(`${this.name} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${payload.loss} ${payload.speed} samples/s\n`);
    } else if (p.phase === 'validate' && p.validation) {
      this.bar?.stop();
      this.bar = undefined;
      const m = p.validation;
      process.stderr.write(`${this.name} epoch ${p.epoch} validation recall@20 ${m['recall@20'].toFixed(4)} recall@50 ${m['recall@50'].toFixed(4)} ndcg@50 ${m['ndcg@50'].toFixed(4)}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
