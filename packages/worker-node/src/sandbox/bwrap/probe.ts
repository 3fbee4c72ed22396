import { systemMountArgs } from "./args.js";
import { execFile } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { setTimeout as delay } from "node:timers/promises";
import { BwrapDriver, createBwrapDriver } from "./driver.js";
import { findOpenNetworkTools } from "./open-network.js";
import type { KillMethod } from "../cgroup/index.js";
import type { IsolationMode, PreparedSandbox, ResolvedLimits, SandboxProcess } from "../driver.js";
import { pidsWithUid } from "../proc-scan.js";
import { warmUpMountHelper } from "./mounts/session-mount.js";
import { readText } from "../../util/read-text.js";

const execFileAsync = promisify(execFile);

/** The settings the probe reads, named after their config keys. */
export interface ProbeSettings {
  /** security.bwrap_path: a name looked up on PATH, or a path. */
  bwrapPath: string;
  /** security.slirp4netns_path: a name looked up on PATH, or a path. @default slirp4netns */
  slirp4netnsPath?: string;
  /** security.sandbox_uid_base: the first slot uid. */
  sandboxUidBase: number;
  /** session.base_dir: where the driver keeps its sessions, the self-tests' included. */
  baseDir: string;
}

export interface ProbeOptions {
  /** The bwrap driver's cgroup parent. @default opencode-worker */
  cgroupParent?: string;
  slotLockDir?: string;
  killMethod?: "auto" | KillMethod;
  /** false: behave as on a host without usable cgroups (tests of the "reduced" tier). @default true */
  useCgroups?: boolean;
}

export interface ProbeResult {
  mode: IsolationMode;
  /** What was found and tested, one line each. */
  details: string[];
  /** Set when mode is "sandbox" or "reduced". */
  driver?: BwrapDriver;
  /** When mode is not "sandbox": what is missing, and what would give stronger isolation. */
  weakness?: { reason: string; fix: string };
}

/** PATH lookup (or a direct path), executable files only. */
export function resolveExecutable(name: string): string | undefined {
  const candidates = name.includes("/")
    ? [name]
    : (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin")
        .split(":")
        .filter(Boolean)
        .map((d) => join(d, name));
  for (const path of candidates) {
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Runs bwrap with the namespaces and system mounts the driver uses, as root, on a trivial command.
 * Not `--ro-bind / /`: that walks every mount on the host, and a session tmpfs another worker
 * unmounts meanwhile makes bwrap fail, which would turn a busy host's probe into a refusal.
 */
async function bwrapRuns(bwrap: string): Promise<{ ok: boolean; version: string; error?: string }> {
  const namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent"];
  const [version, run] = await Promise.allSettled([
    execFileAsync(bwrap, ["--version"], { env: {}, timeout: 2000 }),
    execFileAsync(bwrap, [...namespaces, ...systemMountArgs(), "--", "/usr/bin/true"], { env: {}, timeout: 2000 }),
  ]);
  const v = version.status === "fulfilled" ? version.value.stdout.trim() : "bubblewrap (version unknown)";
  if (run.status === "fulfilled") return { ok: true, version: v };
  const e = run.reason as { stderr?: string; message?: string };
  return { ok: false, version: v, error: (e.stderr || e.message || String(run.reason)).trim() };
}

const PROBE_LIMITS: ResolvedLimits = {
  cpu: 1,
  memoryBytes: 256 * 1024 * 1024,
  timeoutMs: 3000,
  maxOutputBytes: 65536,
  maxPids: 16,
  maxDiskBytes: 8 * 1024 * 1024,
  idleTimeoutMs: 0,
  modelMaxRequests: 1,
  modelMaxTokens: 1,
};

interface SelfTest {
  name: string;
  passed: boolean;
  detail: string;
}

/** One throwaway session: prepare, run `script` under sh, let `check` judge, always destroy. */
async function withSession(
  driver: BwrapDriver,
  baseDir: string,
  name: string,
  limits: Partial<ResolvedLimits>,
  script: string,
  check: (job: SandboxProcess, out: { stdout: string; stderr: string }, box: PreparedSandbox) => Promise<SelfTest[]>,
): Promise<SelfTest[]> {
  const id = `probe-${process.pid}-${name}-${Math.random().toString(36).slice(2, 8)}`;
  let box: PreparedSandbox | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    box = await driver.prepare({
      sessionId: id,
      sessionDir: join(baseDir, `session-${id}`),
      limits: { ...PROBE_LIMITS, ...limits },
      network: "restricted",
    });
    const job = box.exec({
      argv: ["/bin/sh", "-c", script],
      env: { PATH: "/usr/bin:/bin" },
      cwd: box.jobWorkDir,
      stdin: Buffer.alloc(0),
    });
    const stdout = readText(job.stdout, PROBE_LIMITS.maxOutputBytes);
    const stderr = readText(job.stderr, PROBE_LIMITS.maxOutputBytes);
    // A self-test that hangs is a failed one, not a hung start-up.
    timer = setTimeout(() => void job.killTree(0), 3000);
    return await check(job, { stdout: await stdout, stderr: await stderr }, box);
  } catch (error) {
    return [{ name, passed: false, detail: `could not run: ${String(error)}` }];
  } finally {
    clearTimeout(timer);
    await box?.destroy().catch(() => undefined);
  }
}

/**
 * Two sandboxes in parallel: one tries the escapes (remount a read-only bind, keep a daemon after
 * exiting 0), one forks past max_pids. With the bwrap check, about 300 ms on a busy 2-vCPU machine.
 */
function selfTests(driver: BwrapDriver, baseDir: string): Promise<SelfTest[]> {
  const canary = "/usr/.opencode-worker-probe";
  const escapes = withSession(
    driver,
    baseDir,
    "escape",
    {},
    // The shell's own descriptors, listed by a plain child: a pipe or a redirection would add one.
    "echo FDS; ls /proc/$$/fd; echo END; unshare -Ur true 2>/dev/null && echo NESTED_USERNS; " +
      `mount -o remount,rw /usr 2>/dev/null; mount -o remount,rw,bind /usr 2>/dev/null; ` +
      `touch ${canary} 2>/dev/null && echo WRITABLE; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; id -u; ` +
      "(setsid sh -c 'sleep 30 & exit 0' &); sleep 0.02; exit 0",
    async (job, { stdout: out }, box) => {
      await job.exited;
      const leaked = existsSync(canary);
      if (leaked) rmSync(canary, { force: true });
      const capEff = /CapEff:\s*([0-9a-f]+)/.exec(out)?.[1];
      const ok =
        !leaked &&
        !out.includes("WRITABLE") &&
        capEff !== undefined &&
        /^0+$/.test(capEff) &&
        /NoNewPrivs:\s*1/.test(out) &&
        out.trim().endsWith(String(box.owner?.uid));
      const left = pidsWithUid(box.owner?.uid ?? -1);
      const fds = /^FDS\n([^]*?)\nEND$/m.exec(out)?.[1]?.split("\n").join(" ");
      return [
        {
          name: "descriptors",
          passed: fds === "0 1 2",
          detail:
            fds === "0 1 2" ? "a job starts with stdin, stdout and stderr only" : `a job starts with descriptors ${fds ?? "(not listed)"}`,
        },
        {
          name: "seccomp",
          passed: !out.includes("NESTED_USERNS"),
          detail: out.includes("NESTED_USERNS")
            ? "a job created a user namespace (unshare -Ur)"
            : "a job cannot create namespaces (unshare -Ur refused)",
        },
        {
          name: "read-only bind",
          passed: ok,
          detail: ok ? "remount refused, CapEff 0, NoNewPrivs 1, slot uid" : `unexpected: ${out.trim().replace(/\s+/g, " ")}`,
        },
        {
          name: "daemonised child",
          passed: left.length === 0,
          detail: left.length === 0 ? "setsid double-fork died with its job" : `${left.length} process(es) survived: ${left.join(", ")}`,
        },
      ];
    },
  );
  const forkBomb = withSession(
    driver,
    baseDir,
    "pids",
    { maxPids: 8 },
    "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; wait",
    async (job, { stderr }, box) => {
      let breach = await job.limitBreach();
      let exited = false;
      let most = 0;
      void job.exited.then(() => (exited = true));
      const sampling = !driver.cgroups?.enforced.pids;
      while (!breach && !exited) {
        if (sampling) most = Math.max(most, pidsWithUid(box.owner?.uid ?? -1).length);
        await delay(10);
        breach = await job.limitBreach();
      }
      await job.exited;
      breach ??= await job.limitBreach();
      if (breach?.limit === "pids") return [{ name: "fork bomb", passed: true, detail: "stopped at max_pids 8 and reported" }];
      // Without a pids cgroup, RLIMIT_NPROC refuses the forks and sampling may not see the peak.
      const capped = sampling && most <= 8 && /fork/i.test(stderr);
      const detail = capped
        ? "refused by RLIMIT_NPROC at max_pids 8 (no pids cgroup)"
        : `not capped (breach: ${JSON.stringify(breach)}, ${most} seen)`;
      return [{ name: "fork bomb", passed: capped, detail }];
    },
  );
  return Promise.all([escapes, forkBomb]).then((results) => results.flat());
}

function userNamespaces(): string {
  try {
    const max = readFileSync("/proc/sys/user/max_user_namespaces", "utf8").trim();
    return `user namespaces: max_user_namespaces=${max} (not used: bwrap runs as root and drops to a slot uid)`;
  } catch {
    return "user namespaces: unknown";
  }
}

/** Finds out what this machine really allows, with self-tests that try to break out. */
export async function probeIsolation(settings: ProbeSettings, options: ProbeOptions = {}): Promise<ProbeResult> {
  const started = Date.now();
  const details: string[] = [];
  const bwrapSetting = settings.bwrapPath;
  const bwrap = resolveExecutable(bwrapSetting);
  const uid = process.getuid?.() ?? -1;

  if (!bwrap) {
    return {
      mode: "none",
      details: [`bubblewrap not found at '${bwrapSetting}'`],
      weakness: {
        reason: `bubblewrap not found at '${bwrapSetting}'`,
        fix: "apt-get install bubblewrap (or point security.bwrap_path at it)",
      },
    };
  }
  if (uid !== 0) {
    const reason = `the worker runs as uid ${uid}, not root`;
    return {
      mode: "none",
      details: [
        `bubblewrap at ${bwrap}`,
        `${reason}: per-slot uids, tmpfs quotas and cgroups need root`,
        "a user-namespace bwrap driver for unprivileged workers is not implemented: its jobs would run as the worker's own uid",
      ],
      weakness: { reason, fix: "run the worker as root inside a dedicated VM or container" },
    };
  }
  // Independent: the namespace check, the cgroups, and the mount helper's start-up.
  warmUpMountHelper();
  const [runs, created] = await Promise.all([
    bwrapRuns(bwrap),
    createBwrapDriver({
      bwrapPath: bwrap,
      uidBase: settings.sandboxUidBase,
      cgroupParent: options.cgroupParent,
      slotLockDir: options.slotLockDir,
      killMethod: options.killMethod,
      useCgroups: options.useCgroups,
      baseDir: settings.baseDir,
      openNetwork: findOpenNetworkTools(settings.slirp4netnsPath ?? "slirp4netns", resolveExecutable),
    }).catch((error: unknown) => error as Error),
  ]);
  if (!runs.ok) {
    if (!(created instanceof Error)) await created.driver.close();
    const reason = `${runs.version} at ${bwrap} cannot create namespaces: ${runs.error ?? "failed"}`;
    return {
      mode: "none",
      details: [reason],
      weakness: { reason, fix: "allow namespaces (a privileged container or a VM; check kernel.unprivileged_userns_clone and seccomp)" },
    };
  }
  details.push(`${runs.version} at ${bwrap}: pid, net, ipc, uts and mount namespaces work`);
  details.push(`running as root: per-session slot uids from ${settings.sandboxUidBase}`);
  details.push(userNamespaces());
  if (created instanceof Error) {
    const reason = `the bwrap driver cannot start: ${created.message}`;
    return { mode: "none", details: [...details, reason], weakness: { reason, fix: "see the worker's log" } };
  }
  const driver = created.driver;
  details.push(...created.details);
  const cg = driver.cgroups;
  details.push(cg ? `${cg.label} at ${cg.parents.join(", ")}` : "no usable cgroups: memory and pids fall back to sampling");
  details.push("per-session tmpfs with size and nr_inodes limits");

  const tests = await selfTests(driver, settings.baseDir);
  for (const t of tests) details.push(`self-test ${t.name}: ${t.passed ? "passed" : "FAILED"} (${t.detail})`);
  details.push(`probe took ${Date.now() - started} ms`);

  const failed = tests.filter((t) => !t.passed);
  if (failed.length > 0) {
    const reason = `sandbox self-test(s) failed: ${failed.map((t) => `${t.name} (${t.detail})`).join("; ")}`;
    await driver.close();
    return { mode: "none", details, weakness: { reason, fix: "see the probe details in the worker's log" } };
  }
  if (driver.isolation === "reduced") {
    return {
      mode: "reduced",
      details,
      driver,
      weakness: {
        reason: "no usable memory and pids cgroups",
        fix:
          "give the worker cgroup v1 memory and pids controllers, or a delegated cgroup v2 subtree " +
          "(systemd: Delegate=yes) with memory, pids and cpu",
      },
    };
  }
  return { mode: "sandbox", details, driver };
}
