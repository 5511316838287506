/**
 * Ctrl-C and SIGTERM during a long command: the first one asks the work to stop at its next
 * safe point (the trainer finishes the current step, then the run is saved); a second one ends
 * the process at once with the conventional status 128 + signal number (130, 143).
 */

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
export type StopSignal = keyof typeof SIGNAL_NUMBERS;

export interface Interruption {
  /** Aborted at the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  readonly received: StopSignal | undefined;
  /** 128 + the received signal's number (130 for SIGINT, 143 for SIGTERM). */
  readonly exitCode: number;
  /** Removes the handlers, restoring the default behaviour of both signals. */
  dispose(): void;
}

/** Installs the handlers; `notify` is told of the first signal (e.g. to say the run is stopping). */
export function interruptOnSignals(notify: (signal: StopSignal) => void): Interruption {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const handlers = new Map<StopSignal, () => void>();
  for (const name of Object.keys(SIGNAL_NUMBERS) as StopSignal[]) {
    const handler = () => {
      if (received) process.exit(128 + SIGNAL_NUMBERS[name]);
      received = name;
      controller.abort(name);
      notify(name);
    };
    handlers.set(name, handler);
    process.on(name, handler);
  }
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received ? 128 + SIGNAL_NUMBERS[received] : 0;
    },
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
