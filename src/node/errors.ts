/**
 * Errors the `mind` command reports to its user as one line (and a hint), without a stack trace
 * unless `--verbose` is given: bad options and paths, unreadable checkpoints, interrupts.
 */

/** Something the user can fix; `hint` says how, on a second line. */
export class UserError extends Error {
  override readonly name: string = 'UserError';

  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** Ends the command with `exitCode` after its message: an interrupted run exits 130 or 143. */
export class ExitError extends UserError {
  override readonly name = 'ExitError';

  constructor(message: string, readonly exitCode: number, hint?: string) {
    super(message, hint);
  }
}

/** The classes whose message is meant for the user as it is; anything else is a bug. */
const EXPECTED = ['DataError', 'UserError', 'ExitError', 'RangeError', 'InvalidArgumentError', 'CommanderError', 'CheckpointError', 'CheckpointFormatError', 'NonFiniteError', 'DeviceLostError'];

/**
 * The text and exit status the command prints for an error: one line (`mind: ...`) and a hint
 * line where there is one; with `verbose`, the stack trace too. An unexpected error (a bug) says
 * so and how to see its stack.
 */
export function formatError(err: unknown, verbose: boolean): { text: string; exitCode: number } {
  const error = err instanceof Error ? err : new Error(String(err));
  const expected = EXPECTED.includes(error.name) || EXPECTED.includes(error.constructor.name);
  const lines = [`mind: ${error.message || error.name}`];
  if (error instanceof UserError && error.hint) lines.push(`hint: ${error.hint}`);
  if (verbose) lines.push(error.stack ?? '');
  else if (!expected) lines.push('hint: this looks like a bug in mind-webgpu; rerun with --verbose for the stack trace and report it');
  return { text: `${lines.join('\n')}\n`, exitCode: error instanceof ExitError ? error.exitCode : 1 };
}

/** The GPU device was lost mid-command: why, if the driver said, and where the last checkpoint is. */
export class DeviceLostError extends UserError {
  override readonly name = 'DeviceLostError';
}

/**
 * Remembers why `device` was lost, so that the failure of whatever was waiting on it (often an
 * AbortError with an empty message) can be reported as what it is.
 */
export function watchDeviceLoss(device: GPUDevice): { lost(): Promise<GPUDeviceLostInfo | undefined> } {
  let info: GPUDeviceLostInfo | undefined;
  void device.lost.then((i) => (info = i));
  return {
    // The lost promise may settle a moment after the operations it failed; give it that moment.
    lost: async () => info ?? Promise.race([device.lost, new Promise<undefined>((resolve) => setTimeout(resolve, 200))]),
  };
}
