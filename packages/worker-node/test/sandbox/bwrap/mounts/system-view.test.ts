import { afterAll, afterEach, beforeAll, expect, it } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { readMountInfo } from "../../../../src/sandbox/bwrap/mounts/mountinfo.js";
import { mountBackend, mountSessionTmpfs, unmountSession } from "../../../../src/sandbox/bwrap/mounts/session-mount.js";
import { SystemView, SYSTEM_MOUNT_SOURCE } from "../../../../src/sandbox/bwrap/mounts/system-view.js";
import { describeWithPrerequisites, sandboxProblems } from "../../../support/conditions.js";
import { tempBaseDir } from "../../../support/sandbox-driver.js";

/** flock(1) holding an exclusive lock on `path` until killed; resolves once it holds it. */
async function holdLock(path: string): Promise<ChildProcess> {
  const holder = spawn("flock", ["-x", path, "-c", "echo held; exec sleep 1000"], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
  for await (const line of createInterface({ input: holder.stdout! })) if (line === "held") break;
  return holder;
}

/** "free" when a non-blocking exclusive flock on `path` succeeds, "taken" when it would block. */
function lockState(path: string): "free" | "taken" {
  const { status } = spawnSync("flock", ["-n", "-x", path, "true"]);
  if (status !== 0 && status !== 1) throw new Error(`flock ${path} exited ${status}`);
  return status === 0 ? "free" : "taken";
}

async function mountsUnder(dir: string) {
  return (await readMountInfo()).filter((m) => m.mountPoint.startsWith(`${dir}/`));
}

describeWithPrerequisites("per-slot system view", sandboxProblems(), () => {
  let scratch: string;
  let base: string;
  const views: SystemView[] = [];
  const holders: ChildProcess[] = [];

  async function open(options: { paths?: string[]; maxAgeMs?: number } = {}): Promise<SystemView> {
    const view = await SystemView.open({ baseDir: base, paths: options.paths ?? ["/usr", "/etc"], maxAgeMs: options.maxAgeMs });
    views.push(view);
    return view;
  }

  beforeAll(() => {
    scratch = tempBaseDir("sysview");
    base = join(scratch, "base");
    mkdirSync(base, { mode: 0o700 });
  });
  afterEach(async () => {
    for (const h of holders.splice(0)) {
      process.kill(-h.pid!, "SIGKILL");
      await once(h, "close");
    }
    for (const view of views.splice(0)) await view.close();
    for (const m of (await mountsUnder(scratch)).reverse()) await unmountSession(m.mountPoint);
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("gives each slot uid read-only overlays of its own: a lock through one is not seen through another", async () => {
    const view = await open();
    expect(view.description).toBe("advisory locks on /usr, /etc, /dev nodes are private to a slot uid (read-only overlays)");
    const [a, b] = await Promise.all([view.forSlot(1001), view.forSlot(1002)]);
    expect(a.system).toEqual([
      { source: join(base, ".system/slot-1001/0"), target: "/usr" },
      { source: join(base, ".system/slot-1001/1"), target: "/etc" },
    ]);
    expect(a.devices.map((d) => d.target)).toEqual(["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]);
    for (const m of await mountsUnder(join(base, ".system/slot-1001"))) {
      expect(m).toMatchObject({ fsType: "overlay", source: SYSTEM_MOUNT_SOURCE });
      expect(m.options).toEqual(expect.arrayContaining(["ro", "nosuid", ...(m.mountPoint.endsWith("/dev") ? [] : ["nodev"])]));
    }
    expect(readdirSync(join(a.system[0]!.source, "bin")).sort()).toEqual(readdirSync("/usr/bin").sort());
    expect(() => writeFileSync(join(a.system[1]!.source, "hostname"), "x")).toThrow(/EROFS/);

    holders.push(await holdLock(join(a.system[0]!.source, "bin/env")));
    expect(lockState(join(a.system[0]!.source, "bin/env"))).toBe("taken");
    expect(lockState(join(b.system[0]!.source, "bin/env"))).toBe("free");
    expect(lockState("/usr/bin/env")).toBe("free");

    const nullA = a.devices[0]!.source;
    holders.push(await holdLock(nullA));
    expect(lockState(nullA)).toBe("taken");
    expect(lockState(b.devices[0]!.source)).toBe("free");
    expect(lockState("/dev/null")).toBe("free");
    writeFileSync(nullA, "still /dev/null");
    const zero = openSync(a.devices[1]!.source, "r");
    const bytes = Buffer.alloc(4, 7);
    readSync(zero, bytes);
    closeSync(zero);
    expect(bytes).toEqual(Buffer.alloc(4));
  });

  it("mounts once for concurrent calls on one uid, and reuses the set after that", async () => {
    const view = await open();
    const slotDir = join(base, ".system/slot-7");
    const results = await Promise.all([view.forSlot(7), view.forSlot(7), view.forSlot(7)]);
    expect(results[1]).toBe(results[0]);
    expect(results[2]).toBe(results[0]);
    expect(await mountsUnder(slotDir)).toHaveLength(3);
    expect(await view.forSlot(7)).toBe(results[0]);
    expect(await mountsUnder(slotDir)).toHaveLength(3);
  });

  it("remounts a set older than maxAgeMs, so files the host replaced meanwhile are seen as they are now", async () => {
    const sys = join(scratch, "sys-upgrade");
    mkdirSync(sys);
    writeFileSync(join(sys, "lib"), "old");
    const view = await open({ paths: [sys], maxAgeMs: 0 });
    const first = await view.forSlot(3);
    const inView = first.system[0]!.source;
    expect(readFileSync(join(inView, "lib"), "utf8")).toBe("old");
    expect(() => readFileSync(join(inView, "new-tool"))).toThrow(/ENOENT/);
    // What a package manager does: write beside, rename over; add a file.
    writeFileSync(join(sys, "lib.tmp"), "new");
    renameSync(join(sys, "lib.tmp"), join(sys, "lib"));
    writeFileSync(join(sys, "new-tool"), "tool");
    const second = await view.forSlot(3);
    expect(second.system[0]!.source).toBe(inView);
    expect(readFileSync(join(inView, "lib"), "utf8")).toBe("new");
    expect(readFileSync(join(inView, "new-tool"), "utf8")).toBe("tool");
    expect(await mountsUnder(join(base, ".system/slot-3"))).toHaveLength(2);
  });

  it("shows what is mounted below a path: directories through overlays, files bound as they are (and named)", async () => {
    const sys = join(scratch, "sys-mounts");
    mkdirSync(join(sys, "conf.d"), { recursive: true });
    mkdirSync(join(sys, "session-other"));
    // Another worker's session under this path stays out of the view.
    await mountSessionTmpfs(join(sys, "session-other"), { sizeBytes: 1 << 20 });
    writeFileSync(join(sys, "session-other/secret"), "x");
    writeFileSync(join(sys, "resolv.conf"), "image's own");
    writeFileSync(join(scratch, "host-resolv.conf"), "nameserver 192.0.2.1\n");
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "test-conf", join(sys, "conf.d")]).status).toBe(0);
    writeFileSync(join(sys, "conf.d/a.conf"), "from a mounted dir");
    expect(spawnSync("mount", ["--bind", join(scratch, "host-resolv.conf"), join(sys, "resolv.conf")]).status).toBe(0);

    const view = await open({ paths: [sys] });
    expect(view.description).toContain(`advisory locks on ${join(sys, "resolv.conf")} (mounted files) are shared between sessions`);
    const [a, b] = await Promise.all([view.forSlot(1), view.forSlot(2)]);
    const inA = a.system[0]!.source;
    expect(readFileSync(join(inA, "conf.d/a.conf"), "utf8")).toBe("from a mounted dir");
    expect(readFileSync(join(inA, "resolv.conf"), "utf8")).toBe("nameserver 192.0.2.1\n");
    expect(() => writeFileSync(join(inA, "resolv.conf"), "x")).toThrow(/EROFS/);
    expect(readdirSync(join(inA, "session-other"))).toEqual([]);
    holders.push(await holdLock(join(inA, "conf.d/a.conf")));
    expect(lockState(join(b.system[0]!.source, "conf.d/a.conf"))).toBe("free");
    expect(lockState(join(inA, "conf.d/a.conf"))).toBe("taken");
  });

  it("binds as they are the paths overlayfs cannot serve, and says so", async () => {
    writeFileSync(join(scratch, "a-file"), "x");
    // The base dir (and the view's empty layer) is inside this path: overlapping layers.
    const view = await open({ paths: [scratch, join(scratch, "a-file"), "/usr"] });
    expect(view.description).toBe(
      "advisory locks on /usr, /dev nodes are private to a slot uid (read-only overlays); " +
        `advisory locks on ${join(scratch, "a-file")} (not a directory), ${scratch} (overlayfs refused it: ELOOP) are shared between sessions`,
    );
    expect((await view.forSlot(9)).system).toEqual([
      { source: scratch, target: scratch },
      { source: join(scratch, "a-file"), target: join(scratch, "a-file") },
      { source: join(base, ".system/slot-9/2"), target: "/usr" },
    ]);
  });

  it("makes the same mounts through mount(8) as through the helper", async () => {
    const view = await open();
    await view.forSlot(11);
    mountBackend.useHelper = false;
    try {
      await view.forSlot(12);
    } finally {
      mountBackend.useHelper = true;
    }
    // Sorted by mount point: a slot's overlays are mounted concurrently, so mountinfo's order varies.
    const shape = async (uid: number) =>
      (await mountsUnder(join(base, `.system/slot-${uid}`)))
        .map((m) => ({
          at: m.mountPoint.slice(join(base, `.system/slot-${uid}`).length),
          options: m.options,
          fsType: m.fsType,
          source: m.source,
          superOptions: m.superOptions,
        }))
        .sort((a, b) => a.at.localeCompare(b.at));
    expect(await shape(12)).toEqual(await shape(11));
  });

  it("copes with ',', ':' and '\\' in the base dir, which overlayfs options treat as separators", async () => {
    const weird = join(scratch, "we,ird:base\\x");
    mkdirSync(weird);
    const view = await SystemView.open({ baseDir: weird, paths: ["/usr"] });
    views.push(view);
    const viaHelper = await view.forSlot(1);
    mountBackend.useHelper = false;
    try {
      const viaTool = await view.forSlot(2);
      expect([viaHelper, viaTool].map((slot) => slot.system[0]!.source)).toEqual([1, 2].map((uid) => join(weird, `.system/slot-${uid}/0`)));
      for (const slot of [viaHelper, viaTool]) {
        expect(readdirSync(join(slot.system[0]!.source, "bin")).sort()).toEqual(readdirSync("/usr/bin").sort());
      }
    } finally {
      mountBackend.useHelper = true;
    }
  });

  it("after a crash, a new view of the base dir sweeps the overlays and dirs the dead one left", async () => {
    const dead = await SystemView.open({ baseDir: base, paths: ["/usr", "/etc"] });
    await Promise.all([dead.forSlot(21), dead.forSlot(22)]);
    expect(await mountsUnder(join(base, ".system"))).toHaveLength(6);

    const next = await open();
    const lines = await next.sweep();
    expect(lines).toHaveLength(6);
    expect(lines.every((line) => line.startsWith("unmounted "))).toBe(true);
    expect(await mountsUnder(join(base, ".system"))).toEqual([]);
    expect(readdirSync(join(base, ".system")).sort()).toEqual(["devices", "empty"]);
    expect((await next.forSlot(21)).system[0]!.source).toBe(join(base, ".system/slot-21/0"));
  });

  it("close unmounts every overlay and refuses later calls", async () => {
    const view = await open();
    await Promise.all([view.forSlot(31), view.forSlot(32)]);
    await view.close();
    expect(await mountsUnder(join(base, ".system"))).toEqual([]);
    await expect(view.forSlot(31)).rejects.toThrow(/closed/);
  });
});
