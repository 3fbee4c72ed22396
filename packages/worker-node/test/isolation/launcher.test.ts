import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import type { Readable } from "node:stream";
import { LAUNCHER_PATH, STATUS_FD } from "../../src/sandbox/bwrap/launcher.js";
import { describeSandbox } from "../support/conditions.js";

/**
 * The native launcher on its own, without bwrap around it (as root, which it needs to drop to a uid),
 * in a pid namespace of its own so that "alive" counts only its job: what it closes, what it drops,
 * what it reports. The driver tests cover it inside the sandbox.
 */
const IN_PID_NAMESPACE = ["--pid", "--fork", "--mount-proc", LAUNCHER_PATH];
const UID = 299_999;

function read(stream: Readable | null | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  stream?.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => (stream ? stream.once("close", () => resolve(Buffer.concat(chunks).toString())) : resolve("")));
}

let leaked: number;
beforeAll(() => {
  leaked = openSync("/etc", "r");
});
afterAll(() => closeSync(leaked));

async function launch(script: string, args: string[] = [String(UID), String(UID), "/", String(STATUS_FD), "1", "PATH=/usr/bin:/bin"]) {
  // A descriptor open across exec at 5 and 12, as a leaky parent would leave them.
  const stdio = [
    "ignore",
    "pipe",
    "pipe",
    "ignore",
    "pipe",
    leaked,
    "ignore",
    "ignore",
    "ignore",
    "ignore",
    "ignore",
    "ignore",
    leaked,
  ] as const;
  const child = spawn("unshare", [...IN_PID_NAMESPACE, ...args, "sh", "-c", script], { env: {}, stdio: [...stdio] });
  const [stdout, stderr, status] = [read(child.stdout), read(child.stderr), read(child.stdio[STATUS_FD] as Readable)];
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  return { code, stdout: await stdout, stderr: await stderr, status: await status };
}

describeSandbox("sandbox launcher", () => {
  it("closes every descriptor but 0, 1 and 2, and drops to the uid with nothing left", async () => {
    const r = await launch("ls /proc/$$/fd | sort -n | tr '\\n' ' '; echo; id -u; id -G; grep -E '^(Cap|NoNewPrivs)' /proc/self/status");
    const [fds, uid, groups, ...caps] = r.stdout.trim().split("\n");
    // ls's own listing adds one: the shell's table is 0 1 2, plus the pipe to tr.
    expect(fds?.trim().split(" ").slice(0, 3)).toEqual(["0", "1", "2"]);
    expect(fds).not.toMatch(/\b(5|12)\b/);
    expect(uid).toBe(String(UID));
    expect(groups).toBe(String(UID));
    for (const line of caps.filter((l) => l.startsWith("Cap"))) expect(line).toMatch(/:\s+0{16}$/);
    expect(caps).toContain("NoNewPrivs:\t1");
    expect(r.status).toBe("exit 0 alive 0\n");
  });

  it("reports a signal as a signal and an exit as an exit, and exits as a shell would", async () => {
    const signalled = await launch("kill -SEGV $$");
    expect(signalled.status).toMatch(/^signal 11 core [01] alive 0\n$/);
    expect(signalled.code).toBe(139);
    const exited = await launch("exit 139");
    expect(exited.status).toBe("exit 139 alive 0\n");
    expect(exited.code).toBe(139);
  });

  it("stays out of the job's reach: a job's kill -9 -1 does not silence the report", async () => {
    const r = await launch("kill -9 -1; exit 3");
    expect(r.status).toMatch(/^(exit 3|signal 9 core 0) alive \d+\n$/);
  });

  it("refuses root and malformed arguments before running anything", async () => {
    const root = await launch("echo ran", ["0", "0", "/", String(STATUS_FD), "0"]);
    expect(root.code).toBe(125);
    expect(root.stdout).toBe("");
    expect(root.stderr).toContain("root");
    const malformed = await launch("echo ran", [String(UID), "x", "/", String(STATUS_FD), "0"]);
    expect(malformed.code).toBe(125);
    const tooManyEnv = await launch("echo ran", [String(UID), String(UID), "/", String(STATUS_FD), "99"]);
    expect(tooManyEnv.code).toBe(125);
    expect(tooManyEnv.stdout).toBe("");
  });

  it("says why a command cannot run, with the shell's codes", async () => {
    const missing = spawn("unshare", [...IN_PID_NAMESPACE, String(UID), String(UID), "/", String(STATUS_FD), "0", "no-such-command-x"], {
      env: {},
      stdio: ["ignore", "ignore", "pipe", "ignore", "pipe"],
    });
    const stderr = read(missing.stderr);
    const code = await new Promise((resolve) => missing.once("close", resolve));
    expect(code).toBe(127);
    expect(await stderr).toContain("cannot run 'no-such-command-x'");
  });
});
