import type { ShellDialect } from "./shell/ast.js";

/**
 * The fixed vocabulary of the command policy: which words are shell builtins, which run other code,
 * which are never allowed. The operator's part is only `governance.command_allowlist`.
 */

/**
 * Builtins that change the shell's own state, test or print: allowed without being in the allowlist.
 * Builtins that run other code (eval, exec, source, trap, command, builtin) are not here: the policy
 * checks what they run. Nor are alias (with expand_aliases it renames commands), hash (`hash -p
 * /bin/rm ls` maps a name to any binary) or enable (loads builtins from a shared object).
 */
export const SAFE_BUILTINS: ReadonlySet<string> = new Set([
  ":",
  "true",
  "false",
  "cd",
  "pwd",
  "echo",
  "printf",
  "test",
  "[",
  "read",
  "mapfile",
  "readarray",
  "export",
  "unset",
  "set",
  "shopt",
  "local",
  "declare",
  "typeset",
  "readonly",
  "let",
  "getopts",
  "exit",
  "return",
  "shift",
  "break",
  "continue",
  "wait",
  "jobs",
  "kill",
  "disown",
  "times",
  "umask",
  "ulimit",
  "type",
  "pushd",
  "popd",
  "dirs",
  "caller",
]);

/** Builtins that run a command or a script; the policy checks what they run. */
export const RUNNER_BUILTINS: ReadonlySet<string> = new Set(["eval", "exec", "source", ".", "trap", "command", "builtin"]);

/** Never allowed, whatever the allowlist says: they exist to change the user a command runs as. */
export const ALWAYS_DENIED: ReadonlySet<string> = new Set(["sudo", "sudoedit", "su", "doas", "pkexec", "runuser"]);

/** Shells whose `-c` script the policy parses and checks, with the dialect it is written in. */
export const SHELL_DIALECTS: ReadonlyMap<string, ShellDialect> = new Map([
  ["sh", "posix"],
  ["dash", "posix"],
  ["bash", "bash"],
]);

/** Shells whose syntax the policy does not parse: a `-c` script for them cannot be checked. */
export const OTHER_SHELLS: ReadonlySet<string> = new Set(["zsh", "ksh", "mksh", "fish", "csh", "tcsh", "ash", "busybox"]);

/** Programs that fetch from the network, for the "download piped into a shell" pattern. */
export const DOWNLOADERS: ReadonlySet<string> = new Set(["curl", "wget", "aria2c", "fetch"]);

/** Interpreters that run a program read from stdin when given no script. */
export const STDIN_INTERPRETERS: ReadonlySet<string> = new Set(["python", "python3", "node", "perl", "ruby", "php"]);

/**
 * Where a command given by absolute path may live and still be judged by its basename:
 * `/usr/bin/git` is the `git` the allowlist means; `/tmp/x/git` is not.
 */
export const SYSTEM_BIN_DIRS: ReadonlySet<string> = new Set([
  "/bin",
  "/sbin",
  "/usr/bin",
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/local/sbin",
]);
