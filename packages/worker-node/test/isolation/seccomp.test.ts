import { expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import { seccompProgram, syscallAbi } from "../../src/sandbox/bwrap/seccomp/index.js";
import type { SyscallName } from "../../src/sandbox/bwrap/seccomp/syscall-tables.js";
import { describeSandbox } from "../support/conditions.js";

/**
 * The seccomp filter installed by bwrap for real, in this host's kernel. The probes run as the
 * sandbox's root with the capabilities bwrap leaves it (the strongest job there could be), and each
 * denial is checked against a run without the filter, so a probe the host refuses anyway cannot
 * pass for the filter's work.
 */

/** bwrap with every namespace and a read-only merged-usr system (/etc too, for getent). */
const SANDBOX = [
  "--unshare-all",
  "--die-with-parent",
  ...["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"],
  ...["--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"],
  ...["--proc", "/proc", "--dev", "/dev"],
];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `argv` in the sandbox. With `filter`, it goes to bwrap through fd 3 (`--seccomp 3`);
 * `openFd3` gives the child the same pipe at fd 3 without telling bwrap about it (the control for the
 * fd-closing test).
 */
function inSandbox(argv: readonly string[], options: { filter?: Buffer; openFd3?: boolean; extra?: readonly string[] } = {}): Promise<Run> {
  const { filter, openFd3 = filter !== undefined, extra = [] } = options;
  const args = [...SANDBOX, ...extra, ...(filter ? ["--seccomp", "3"] : []), "--", ...argv];
  const child = spawn("bwrap", args, {
    stdio: openFd3 ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/bin:/bin" },
  });
  const fd3 = child.stdio[3] as Writable | undefined;
  // A bwrap that dies before reading would make the write fail: the exit status says why.
  fd3?.on("error", () => {});
  fd3?.end(filter ?? Buffer.alloc(0));
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** This host's number of a syscall the policy names. */
function nr(name: SyscallName): number {
  const number = syscallAbi(process.arch).numbers[name];
  if (number === undefined) throw new Error(`no syscall number for ${name} on ${process.arch}`);
  return number;
}

/**
 * One line per probe, `<name> ok` or `<name> <errno>`, through perl's syscall() and socket()
 * builtins (perl-base is on every Debian). Strings perl passes as pointers must be variables
 * (literals are read-only). unshare goes last: once it succeeds (without the filter) the process
 * is in a new user namespace, which would change what the probes after it see.
 */
function probeScript(): string {
  return `
    $| = 1;
    use POSIX ();
    sub report { my ($name, $ok) = @_; print "$name ", ($ok ? "ok" : $! + 0), "\\n" }
    sub call { my ($name, $nr, @args) = @_; $! = 0; my $r = syscall($nr, @args); report($name, $r != -1); $r }
    my ($user, $key, $value, $none, $tmpfs, $missing) = ("user", "ocw-probe", "v", "none", "tmpfs", "/nonexistent");
    call("setns", ${nr("setns")}, 0, 0);
    call("clone3", ${nr("clone3")}, 0, 0);
    $! = 0; my $pid = syscall(${nr("clone")}, 0x10000000 | 17, 0, 0, 0, 0);
    POSIX::_exit(0) if $pid == 0;
    report("clone-newuser", $pid != -1); waitpid($pid, 0) if $pid > 0;
    $! = 0; $pid = fork();
    POSIX::_exit(0) if defined $pid && $pid == 0;
    report("fork", defined $pid); waitpid($pid, 0) if $pid;
    call("keyctl", ${nr("keyctl")}, 0, -2, 1);
    call("add_key", ${nr("add_key")}, $user, $key, $value, 1, -2);
    call("request_key", ${nr("request_key")}, $user, $missing, 0, 0);
    call("io_uring_setup", ${nr("io_uring_setup")}, 1, 0);
    call("mount", ${nr("mount")}, $none, $missing, $tmpfs, 0, 0);
    call("bpf", ${nr("bpf")}, 0, 0, 0);
    call("perf_event_open", ${nr("perf_event_open")}, 0, 0, -1, -1, 0);
    call("userfaultfd", ${nr("userfaultfd")}, 1);
    call("personality-no-aslr", ${nr("personality")}, 0x0040000);
    call("personality-query", ${nr("personality")}, 0xffffffff);
    for my $f ([unix => 1, 1, 0], [inet => 2, 1, 0], [inet6 => 10, 1, 0], [netlink => 16, 3, 0], [vsock => 40, 1, 0], [packet => 17, 3, 0]) {
      my ($name, @args) = @$f; $! = 0; report("socket-$name", socket(my $s, $args[0], $args[1], $args[2]));
    }
    $! = 0; report("socketpair-unix", socketpair(my $a, my $b, 1, 1, 0));
    call("unshare", ${nr("unshare")}, 0x10000000);
  `;
}

/** The probe's lines as { name: "ok" | errno }. */
function outcomes(run: Run): Record<string, string> {
  expect(run).toMatchObject({ code: 0, stderr: "" });
  const lines = run.stdout
    .trim()
    .split("\n")
    .map((line) => line.split(" ") as [string, string]);
  const seen = Object.fromEntries(lines);
  expect(Object.keys(seen)).toHaveLength(lines.length); // a forked child that reported too would repeat a name
  return seen;
}

const EPERM = "1";
const ENOSYS = "38";
const EAFNOSUPPORT = "97";

const DENIED: Record<string, string> = {
  setns: EPERM,
  clone3: ENOSYS,
  "clone-newuser": EPERM,
  keyctl: ENOSYS,
  add_key: ENOSYS,
  request_key: ENOSYS,
  io_uring_setup: ENOSYS,
  mount: EPERM,
  bpf: EPERM,
  perf_event_open: EPERM,
  userfaultfd: EPERM,
  "personality-no-aslr": EPERM,
  "socket-vsock": EAFNOSUPPORT,
  "socket-packet": EAFNOSUPPORT,
  unshare: EPERM,
};
const ALLOWED = ["fork", "personality-query", "socket-unix", "socket-inet", "socket-inet6", "socket-netlink", "socketpair-unix"];

describeSandbox("the seccomp filter in bwrap", () => {
  const filter = seccompProgram();

  it("denies namespaces, keyring, io_uring, mount, bpf, perf, userfaultfd, personality and foreign socket families", async () => {
    const seen = outcomes(await inSandbox(["perl", "-e", probeScript()], { filter }));
    for (const [name, errno] of Object.entries(DENIED)) expect([name, seen[name]]).toEqual([name, errno]);
    for (const name of ALLOWED) expect([name, seen[name]]).toEqual([name, "ok"]);
  });

  it("is what denies them: without it every one of those probes ends otherwise on this host", async () => {
    const seen = outcomes(await inSandbox(["perl", "-e", probeScript()]));
    for (const [name, errno] of Object.entries(DENIED)) expect([name, seen[name]]).not.toEqual([name, errno]);
    for (const name of ALLOWED) expect([name, seen[name]]).toEqual([name, "ok"]);
  });

  it("stops `unshare -Ur`, which works without it", async () => {
    const filtered = await inSandbox(["unshare", "-Ur", "true"], { filter });
    expect(filtered.code).not.toBe(0);
    expect(filtered.stderr).toContain("Operation not permitted");
    expect(await inSandbox(["unshare", "-Ur", "true"])).toMatchObject({ code: 0 });
  });

  it("leaves ordinary tools working: sh, fork, ls, perl, getent, python3 and node", async () => {
    const node = dirname(realpathSync(process.execPath));
    const extra = node.startsWith("/usr/") ? [] : ["--ro-bind", node, node];
    const python = existsSync("/usr/bin/python3")
      ? `/usr/bin/python3 -c 'import socket, subprocess; socket.getaddrinfo("localhost", 80); subprocess.run(["true"], check=True); print("python ok")' && `
      : "";
    const script =
      `true & wait && echo fork ok && ls / >/dev/null && echo ls ok && perl -e 'print "perl ok\\n"' && ` +
      `getent hosts localhost >/dev/null && echo getent ok && ${python}` +
      `${node}/node -e 'require("child_process").execFileSync("true"); require("dns").lookup("localhost", (e) => console.log(e ? e.message : "node ok"))'`;
    const run = await inSandbox(["sh", "-c", script], { filter, extra });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout.trim().split("\n")).toEqual([
      "fork ok",
      "ls ok",
      "perl ok",
      "getent ok",
      ...(python ? ["python ok"] : []),
      "node ok",
    ]);
  });

  it("kills the process when the program is another architecture's (fail closed)", async () => {
    const foreign = seccompProgram(process.arch === "x64" ? "arm64" : "x64");
    const run = await inSandbox(["true"], { filter: foreign });
    // bwrap reports its child's death by SIGSYS as 128 + 31.
    expect(run.code).toBe(128 + 31);
  });

  it("does not reach the job as a descriptor: bwrap closes the fd it read the program from", async () => {
    // The shell's own descriptors (not ls's): `; true` keeps sh from exec'ing ls in its place.
    const listFds = ["sh", "-c", "ls /proc/$$/fd; true"];
    const filtered = (await inSandbox(listFds, { filter })).stdout.trim().split("\n");
    expect(filtered).toEqual(expect.arrayContaining(["0", "1", "2"]));
    expect(filtered).not.toContain("3");
    // The control: a pipe at fd 3 that bwrap was not told about does reach the job.
    expect((await inSandbox(listFds, { openFd3: true })).stdout.trim().split("\n")).toContain("3");
  });
});
