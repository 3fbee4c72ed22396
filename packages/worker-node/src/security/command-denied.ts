import { WorkerError } from "../errors.js";

/** Why the command policy refused a job's program. */
export type CommandDenialReason =
  /** The command word is not in governance.command_allowlist. */
  | "not_allowlisted"
  /** sudo, su, doas and the like: never, whatever the allowlist says. */
  | "always_denied"
  /** The command word (or a script handed to eval, trap, sh -c) is only known at run time. */
  | "dynamic_command_word"
  /** A known destructive shape: `rm -rf /`, `curl | sh`, a fork bomb... */
  | "dangerous_pattern"
  /** Valid shell the policy cannot analyse with certainty, so it does not guess. */
  | "unanalysable";

/**
 * Thrown when the command policy refuses a job (PERMISSION_DENIED). `word` is the offending command
 * word, argument or snippet exactly as the job wrote it; `pattern` names the dangerous pattern.
 */
export class CommandDeniedError extends WorkerError {
  constructor(
    readonly reason: CommandDenialReason,
    readonly word: string,
    message: string,
    field: string,
    readonly pattern?: string,
  ) {
    super("PERMISSION_DENIED", `${field}: ${message}`, { field });
  }
}

/** How a word appears in messages: quoted, one line, and short. */
export function showWord(word: string): string {
  const oneLine = word.replace(/\s+/g, " ");
  return JSON.stringify(oneLine.length > 80 ? `${oneLine.slice(0, 80)}...` : oneLine);
}
