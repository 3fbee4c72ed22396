/**
 * The command words a job may use unless `governance.command_allowlist` says otherwise: the everyday
 * tools of a coding agent (shells, coreutils, search, archives, VCS, language toolchains, build tools).
 * Shell builtins and keywords are not listed: the command policy allows them, except the ones that run
 * other code (eval, exec, source), which it checks by their arguments. Wrappers (env, xargs, timeout,
 * nohup, nice) are listed because the policy checks the command they run as well.
 */
export const DEFAULT_COMMAND_ALLOWLIST: readonly string[] = [
  // shells
  "sh", "bash", "dash",
  // files and text
  "ls", "cat", "echo", "printf", "pwd", "mkdir", "rmdir", "rm", "cp", "mv", "touch", "ln", "chmod",
  "find", "grep", "egrep", "fgrep", "rg", "sed", "awk", "head", "tail", "wc", "sort", "uniq", "cut", "tr",
  "tee", "xargs", "diff", "cmp", "comm", "patch", "file", "stat", "du", "df", "realpath", "readlink",
  "basename", "dirname", "od", "xxd", "base64", "sha256sum", "md5sum", "jq", "seq", "yes",
  // archives
  "tar", "gzip", "gunzip", "zcat", "zip", "unzip", "xz",
  // process and environment
  "env", "true", "false", "test", "[", "sleep", "date", "which", "id", "whoami", "uname", "nproc",
  "timeout", "nohup", "nice", "ps", "kill",
  // version control and toolchains
  "git", "node", "npm", "npx", "pnpm", "yarn", "tsc", "python", "python3", "pip", "pip3", "pytest",
  "make", "cmake", "gcc", "g++", "cc", "c++", "clang", "ld", "cargo", "rustc", "go", "java", "javac",
  "mvn", "gradle", "ruby", "perl",
  // network (only reachable when the job's network policy is OPEN)
  "curl", "wget",
];
