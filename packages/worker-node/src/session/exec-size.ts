import { invalidArgument } from "../errors.js";
import { envField } from "../security/env-filter.js";

/*
 * What execve(2) refuses with E2BIG, checked at Dispatch on the strings the job's exec really receives
 * (its argv, and its environment as the "K=V" strings the kernel sees, the worker's defaults included),
 * so such a job is refused naming the field instead of failing with WORKER_ERROR at EXECUTE.
 */

/** Linux refuses an argv or envp string longer than this, counting its NUL (MAX_ARG_STRLEN: 32 pages). */
export const MAX_EXEC_STRING_BYTES = 128 * 1024;

/**
 * The job's argv and env together, counted as the kernel counts them: each string, its NUL and an
 * 8-byte pointer. The kernel allows RLIMIT_STACK/4 per exec (2 MiB with the default 8 MiB stack). Half
 * of it is kept back: every exec of the sandbox's chain (sandbox/bwrap/args.ts) carries the job's env
 * and argv as argv strings of its own, next to about 60 more (mounts, cgroup files, the wrapper
 * script), before the job gets the env as envp; and the worker may run with a smaller stack limit.
 */
export const MAX_EXEC_TOTAL_BYTES = 1024 * 1024;

const POINTER_BYTES = 8;
const LARGE_DATA_HINT = "pass large data as a file (`files`) or on stdin";

/**
 * Throws INVALID_ARGUMENT naming the field the caller wrote (`command`, `argv[3]`, `env["NAME"]`, or
 * `command`/`argv`/`env` for the total) when the kernel would refuse to exec `argv` with `env`.
 * `argv` is the program's argv: `["/bin/sh", "-c", command]` when the caller wrote `command`.
 */
export function checkExecSize(argv: readonly string[], env: Readonly<Record<string, string>>, wrote: "command" | "argv"): void {
  let argvBytes = 0;
  argv.forEach((arg, index) => {
    const bytes = Buffer.byteLength(arg) + 1;
    if (bytes > MAX_EXEC_STRING_BYTES) {
      const field = wrote === "command" ? "command" : `argv[${index}]`;
      const hint = wrote === "command" ? "put a long script in `files` and run it; " : "";
      throw invalidArgument(field, `is ${bytes - 1} bytes; ${stringLimit("argument")}: ${hint}${LARGE_DATA_HINT}`);
    }
    argvBytes += bytes + POINTER_BYTES;
  });
  let envBytes = 0;
  for (const [name, value] of Object.entries(env)) {
    const bytes = Buffer.byteLength(name) + 1 + Buffer.byteLength(value) + 1;
    if (bytes > MAX_EXEC_STRING_BYTES) {
      throw invalidArgument(
        envField(name),
        `is ${bytes - 1} bytes as the string ${name}=...; ${stringLimit("variable")}: ${LARGE_DATA_HINT}`,
      );
    }
    envBytes += bytes + POINTER_BYTES;
  }
  const total = argvBytes + envBytes;
  if (total > MAX_EXEC_TOTAL_BYTES) {
    // Blame the larger part: that is the one to move into a file.
    const field = envBytes >= argvBytes ? "env" : wrote;
    throw invalidArgument(
      field,
      `${wrote} and env together take ${mebibytes(total)} (${total} bytes, counting each string, its NUL and an ` +
        `8-byte pointer; env holds ${Object.keys(env).length} variables with the worker's defaults); ` +
        `the limit is ${mebibytes(MAX_EXEC_TOTAL_BYTES)} (the kernel refuses larger exec arguments): ${LARGE_DATA_HINT}`,
    );
  }
}

function stringLimit(what: string): string {
  return `the kernel refuses a single exec ${what} over ${MAX_EXEC_STRING_BYTES - 1} bytes (MAX_ARG_STRLEN)`;
}

function mebibytes(bytes: number): string {
  return `${Number((bytes / 1024 ** 2).toFixed(2))} MiB`;
}
