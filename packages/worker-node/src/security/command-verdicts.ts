import { checkCommand, type CommandPolicy, type JobProgram } from "./command-policy.js";

/** Verdicts kept per allowlist; the least recently used goes first. */
const CAPACITY = 1024;
/** Longer command lines are checked every time, so the cache stays small (at most CAPACITY * 4 KiB). */
const MAX_CACHED_COMMAND_BYTES = 4096;

type Verdict = { allowed: true } | { allowed: false; error: unknown };

/**
 * Remembers the command policy's verdicts. Checking a shell line costs milliseconds (the parser
 * starts a fresh WASM runtime each time), and agents send the same lines again and again
 * (`npm test`, `git status`). A verdict depends only on the line, the dialect and the allowlist, so
 * it is kept per allowlist (by identity: a new configuration starts empty), denials included.
 */
export class CommandVerdicts {
  private readonly byAllowlist = new WeakMap<readonly string[], Map<string, Verdict>>();

  constructor(private readonly check: (program: JobProgram, policy: CommandPolicy) => Promise<void> = checkCommand) {}

  async verify(program: JobProgram, policy: CommandPolicy): Promise<void> {
    // argv checks are already microseconds; only shell lines are worth remembering.
    if (!("command" in program) || Buffer.byteLength(program.command) > MAX_CACHED_COMMAND_BYTES) {
      return this.check(program, policy);
    }
    let verdicts = this.byAllowlist.get(policy.allowlist);
    if (!verdicts) this.byAllowlist.set(policy.allowlist, (verdicts = new Map()));
    const key = `${policy.shell ?? "posix"}\0${program.command}`;
    let verdict = verdicts.get(key);
    if (verdict) {
      verdicts.delete(key); // re-inserted below: Map order is the recency order
    } else {
      verdict = await this.check(program, policy).then(
        (): Verdict => ({ allowed: true }),
        (error: unknown): Verdict => ({ allowed: false, error }),
      );
    }
    verdicts.set(key, verdict);
    if (verdicts.size > CAPACITY) verdicts.delete(verdicts.keys().next().value as string);
    if (!verdict.allowed) throw verdict.error;
  }
}
