import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { systemMountArgs } from "../../src/sandbox/bwrap/args.js";
import { resolveExecutable } from "../../src/sandbox/bwrap/probe.js";
import { SystemView, type SlotView } from "../../src/sandbox/bwrap/mounts/system-view.js";
import { describeSandbox } from "../support/conditions.js";
import { freeUidBase } from "./sandbox-harness.js";

/**
 * Two sessions must share nothing, not even an advisory lock or an inotify watch on a system file
 * (issue 6, item 3).
 * The sandboxes here are built by hand the way bwrap/args.ts does, /usr and /etc bound read-only
 * (from the per-slot overlays, or from the host as before) and /dev made by bwrap, and run as two
 * slot uids at once.
 */

let base: string;
let view: SystemView;
let uidBase: number;
const running: ChildProcess[] = [];

/** The host's view as bwrap/args.ts binds it: the same paths, links kept as links. */
const hostMounts = systemMountArgs();
const roBindPaths = hostMounts.flatMap((arg, i) => (arg === "--ro-bind" ? [hostMounts[i + 1]!] : []));
const links = hostMounts.flatMap((arg, i) => (arg === "--symlink" ? hostMounts.slice(i, i + 3) : []));

/** bwrap argv running `argv` as `uid` with /usr, /etc and /dev nodes from `slot`, or from the host when undefined. */
function sandbox(slot: SlotView | undefined, uid: number, argv: string[]): string[] {
  const system = slot ? slot.system : roBindPaths.map((p) => ({ source: p, target: p }));
  return [
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-net",
    "--die-with-parent",
    "--new-session",
    ...system.flatMap((b) => ["--ro-bind", b.source, b.target]),
    ...links,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    ...(slot?.devices ?? []).flatMap((b) => ["--dev-bind", b.source, b.target]),
    "--",
    "/usr/bin/setpriv",
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    "--no-new-privs",
    "--",
    ...argv,
  ];
}

function bwrap(): string {
  const path = resolveExecutable("bwrap");
  if (!path) throw new Error("bubblewrap is not installed (apt-get install -y bubblewrap)");
  return path;
}

/** A sandboxed job holding an exclusive flock on `file` until killed; resolves once it holds it. */
async function holdLock(slot: SlotView | undefined, uid: number, file: string): Promise<void> {
  const job = spawn(bwrap(), sandbox(slot, uid, ["/usr/bin/flock", "-x", file, "-c", "echo held; exec sleep 1000"]), {
    env: {},
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  running.push(job);
  for await (const line of createInterface({ input: job.stdout! })) if (line === "held") return;
  throw new Error(`the lock holder on ${file} ended before holding it`);
}

/** What a second sandboxed job sees when it tries the same lock without waiting. */
async function tryLock(slot: SlotView | undefined, uid: number, file: string): Promise<"free" | "taken"> {
  const job = spawn(bwrap(), sandbox(slot, uid, ["/usr/bin/flock", "-n", "-x", file, "true"]), { env: {}, stdio: "inherit" });
  const [code] = (await once(job, "exit")) as [number | null];
  if (code !== 0 && code !== 1) throw new Error(`flock -n ${file} in the sandbox exited ${code}`);
  return code === 0 ? "free" : "taken";
}

const INOTIFY: Partial<Record<string, { init1: number; addWatch: number }>> = {
  x64: { init1: 294, addWatch: 254 },
  arm64: { init1: 26, addWatch: 27 },
};

/**
 * A sandboxed job watching `file` with inotify (IN_OPEN | IN_ACCESS; perl-base, as the mount helper).
 * Each line the test writes makes it drain its queue without waiting and answer "event" or "none":
 * fsnotify queues events in the accessing process's own call, so once that process has exited the
 * answer is final, with no timing involved.
 */
async function watch(slot: SlotView | undefined, uid: number, file: string): Promise<() => Promise<"event" | "none">> {
  const nr = INOTIFY[process.arch];
  if (!nr) throw new Error(`no inotify syscall numbers for ${process.arch}`);
  const script = [
    "my ($path) = @ARGV;",
    `my $fd = syscall(${nr.init1}, 2048);`,
    `syscall(${nr.addWatch}, $fd, $path, 0x21) >= 0 or die "inotify_add_watch: $!";`,
    'open(my $q, "<&=", $fd) or die; $| = 1; print "watching\\n";',
    'while (<STDIN>) { my $n = sysread($q, my $buf, 65536); print $n ? "event\\n" : "none\\n"; }',
  ].join(" ");
  const job = spawn(bwrap(), sandbox(slot, uid, ["/usr/bin/perl", "-e", script, file]), {
    env: {},
    detached: true,
    stdio: ["pipe", "pipe", "inherit"],
  });
  running.push(job);
  const lines = createInterface({ input: job.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the watcher of ${file} ended`);
    return line.value;
  };
  expect(await next()).toBe("watching");
  return async () => {
    job.stdin!.write("check\n");
    return (await next()) as "event" | "none";
  };
}

/** Runs `argv` in a sandbox to its end. */
async function run(slot: SlotView | undefined, uid: number, argv: string[]): Promise<void> {
  const job = spawn(bwrap(), sandbox(slot, uid, argv), { env: {}, stdio: ["ignore", "ignore", "inherit"] });
  const [code] = (await once(job, "exit")) as [number | null];
  expect(code).toBe(0);
}

describeSandbox("advisory locks between sessions", () => {
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "ocw-locks-"));
    uidBase = freeUidBase();
    view = await SystemView.open({ baseDir: base, paths: roBindPaths });
    expect(view.description).toMatch(/are private to a slot uid/);
  });
  afterEach(async () => {
    for (const job of running.splice(0)) {
      process.kill(-job.pid!, "SIGKILL");
      if (job.exitCode === null && job.signalCode === null) await once(job, "exit");
    }
  });
  afterAll(async () => {
    await view.close();
    await rm(base, { recursive: true, force: true });
  });

  it("host binds, as before: a lock one sandbox takes on /usr/bin/env or /dev/null blocks another (the channel)", async () => {
    await holdLock(undefined, uidBase, "/usr/bin/env");
    await holdLock(undefined, uidBase, "/dev/null");
    expect(await tryLock(undefined, uidBase + 1, "/usr/bin/env")).toBe("taken");
    expect(await tryLock(undefined, uidBase + 1, "/dev/null")).toBe("taken");
  });

  it("per-slot overlays: a lock in slot A's sandbox is invisible to slot B's, and still seen within slot A", async () => {
    const [a, b] = await Promise.all([view.forSlot(uidBase), view.forSlot(uidBase + 1)]);
    for (const file of ["/usr/bin/env", "/etc/passwd", "/dev/null", "/dev/urandom"]) {
      await holdLock(a, uidBase, file);
      expect(await tryLock(b, uidBase + 1, file)).toBe("free");
      // The same view blocks: the test can see a shared lock when there is one.
      expect(await tryLock(a, uidBase, file)).toBe("taken");
    }
  });

  it("host binds, as before: an inotify watch on a system file sees another sandbox open it", async () => {
    const check = await watch(undefined, uidBase, "/usr/bin/env");
    await run(undefined, uidBase + 1, ["/usr/bin/head", "-c", "1", "/usr/bin/env"]);
    expect(await check()).toBe("event");
  });

  it("per-slot overlays: slot A's watch sees nothing of slot B's reads, and still sees slot A's", async () => {
    const [a, b] = await Promise.all([view.forSlot(uidBase), view.forSlot(uidBase + 1)]);
    for (const file of ["/usr/bin/env", "/dev/null"]) {
      const check = await watch(a, uidBase, file);
      expect(await check()).toBe("none");
      await run(b, uidBase + 1, ["/usr/bin/head", "-c", "1", file]);
      expect(await check()).toBe("none");
      await run(a, uidBase, ["/usr/bin/head", "-c", "1", file]);
      expect(await check()).toBe("event");
    }
  });

  it("the per-slot /dev nodes still work as devices for the job", async () => {
    const slot = await view.forSlot(uidBase + 2);
    const job = spawn(
      bwrap(),
      sandbox(slot, uidBase + 2, ["/bin/sh", "-c", "echo gone >/dev/null && head -c 3 /dev/zero | od -An -tx1 && id -u"]),
      {
        env: {},
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    job.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(job, "close")) as [number | null];
    expect({ code, out: out.split("\n").map((l) => l.trim()) }).toEqual({ code: 0, out: ["00 00 00", String(uidBase + 2), ""] });
  });
});
