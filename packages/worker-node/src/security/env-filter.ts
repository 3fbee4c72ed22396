import { invalidArgument } from "../errors.js";

/**
 * The job's complete environment. It starts empty, never from the worker's `process.env` (the worker's
 * secrets, tokens and config must not reach a job), then gets the safe defaults, then the job's own
 * variables.
 *
 * Rules for the job's variables:
 * - names match `^[A-Za-z_][A-Za-z0-9_]*$` and are at most 256 characters; `__proto__`, `constructor`
 *   and the like are ordinary names (the result is a prototype-less object);
 * - values contain no NUL (it cannot be passed to exec); their sizes are checked with argv's, on the
 *   complete environment, against what the kernel accepts at exec (session/exec-size.ts);
 * - OPENCODE_WORK_DIR and OPENCODE_OUTPUT_DIR are the worker's to set; PATH, HOME, LANG, TMPDIR may
 *   be overridden;
 * - LD_PRELOAD, LD_LIBRARY_PATH, BASH_ENV, NODE_OPTIONS and friends are allowed: they only change how
 *   the job's own processes behave, inside its sandbox, as the job could do itself with `export`.
 *   They never reach the worker, which does not read the job's environment.
 */
export interface JobEnvBase {
  /** The directories as the job sees them. */
  readonly workDir: string;
  readonly outputDir: string;
  readonly homeDir: string;
  readonly tmpDir: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_NAME_LENGTH = 256;
const RESERVED = new Set(["OPENCODE_WORK_DIR", "OPENCODE_OUTPUT_DIR"]);

/** How an error names one variable: `env["NAME"]`, a long name cut short. */
export function envField(name: string): string {
  return `env[${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name)}]`;
}

/** Checks the job's own variables, at Dispatch: throws INVALID_ARGUMENT naming the variable. */
export function validateJobEnv(userEnv: ReadonlyMap<string, string>): void {
  for (const [name, value] of userEnv) {
    const field = envField(name);
    if (name.length > MAX_NAME_LENGTH) throw invalidArgument(field, `is a name longer than ${MAX_NAME_LENGTH} characters`);
    if (!NAME.test(name)) throw invalidArgument(field, "is not a valid variable name (letters, digits and _, not starting with a digit)");
    if (RESERVED.has(name)) throw invalidArgument(field, "is set by the worker and cannot be overridden");
    if (value.includes("\0")) throw invalidArgument(field, "contains a NUL byte");
  }
}

/** The complete environment for variables `validateJobEnv` accepted: the safe defaults, then the job's. */
export function buildJobEnv(userEnv: ReadonlyMap<string, string>, base: JobEnvBase): Record<string, string> {
  const env = Object.create(null) as Record<string, string>;
  env.PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  env.HOME = base.homeDir;
  env.LANG = "C.UTF-8";
  env.TMPDIR = base.tmpDir;
  env.OPENCODE_WORK_DIR = base.workDir;
  env.OPENCODE_OUTPUT_DIR = base.outputDir;
  // With no prototype there is no inherited `__proto__` setter: every name is an own data property.
  for (const [name, value] of userEnv) env[name] = value;
  return env;
}
