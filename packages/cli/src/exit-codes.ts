/**
 * The bin's exit codes beyond the job's own, after docker's (`docker run`) and GNU timeout's: a
 * script tells the job's failure from the tool's.
 */
export const EXIT = {
  /** The command line or the configuration is wrong. */
  usage: 2,
  /** The job ran past its time limit (as `timeout(1)` exits). */
  timedOut: 124,
  /** The worker could not be reached, refused the request, or the CLI failed: the job's code is not known. */
  cliError: 125,
  /** Interrupted at the terminal (128 + SIGINT). */
  interrupted: 130,
} as const;

/** Thrown when the CLI refuses or fails on its own side, before or apart from any job: exit 125. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode = EXIT.cliError;
}
