import { beforeAll, describe } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { findLauncher } from "../../src/sandbox/bwrap/launcher.js";
import { resolveExecutable } from "../../src/sandbox/bwrap/probe.js";

/**
 * What tests need of the machine and of time: the skip-or-fail rule for suites that need root,
 * bubblewrap or cgroups, waiting for a condition, and scanning /proc for processes left behind.
 */

/**
 * A suite that needs what this machine may lack (root, bubblewrap, a cgroup2 hierarchy), under the
 * rule every sandbox suite follows: outside CI, a missing prerequisite skips the suite with a note
 * naming it; under CI=true the suite is never skipped, and its beforeAll fails every test naming
 * what is missing, so CI cannot pass green without checking.
 */
export function describeWithPrerequisites(title: string, problems: string[], body: () => void): void {
  if (problems.length > 0 && process.env.CI !== "true") {
    console.warn(`skipping "${title}": ${problems.join("; ")} (CI=true makes this a failure)`);
    describe.skip(title, body);
    return;
  }
  describe(title, () => {
    beforeAll(() => {
      if (problems.length > 0) throw new Error(`"${title}" cannot run: ${problems.join("; ")}`);
    });
    body();
  });
}

/** What keeps the bwrap sandbox from running on this machine; empty when it can run. */
export function sandboxProblems(): string[] {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push(`running as uid ${process.getuid?.()}, not root`);
  if (!resolveExecutable("bwrap")) problems.push("bubblewrap is not installed (apt-get install -y bubblewrap)");
  try {
    findLauncher();
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/**
 * The isolation suites' describe: skipped with a note outside CI when the sandbox cannot run here,
 * failing every test naming what is missing under CI=true.
 */
export function describeSandbox(title: string, body: () => void): void {
  describeWithPrerequisites(title, sandboxProblems(), body);
}

/** Resolves once `condition` holds, polling every 10 ms; fails the test after `timeoutMs` naming `what`. */
export async function waitFor(condition: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await delay(10);
  }
}

/** Resolves once every file exists (a job's "I am set up" marker); fails the test after `timeoutMs`. */
export function waitForFiles(paths: string[], timeoutMs = 10_000): Promise<void> {
  return waitFor(
    () => paths.every((p) => existsSync(p)),
    () => paths.filter((p) => !existsSync(p)).join(", "),
    timeoutMs,
  );
}

/** Processes on this host whose real uid is in [from, to), zombies included: what a test must find none of. */
export function processesWithUidIn(from: number, to: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const uidLine = readFileSync(`/proc/${entry}/status`, "utf8").match(/^Uid:\s+(\d+)/m);
      const uid = Number(uidLine?.[1]);
      if (uid >= from && uid < to) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/**
 * The cgroup directories (of every hierarchy, up to 8 levels under /sys/fs/cgroup) whose name `matches`. Other
 * suites' jobs create and remove cgroups all the while: a directory gone between its listing and its walk is
 * skipped, where `find` would fail the whole search.
 */
export function cgroupDirs(matches: (name: string) => boolean, root = "/sys/fs/cgroup", depth = 8): string[] {
  const found: string[] = [];
  const walk = (dir: string, level: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed meanwhile
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      if (matches(entry.name)) found.push(path);
      if (level < depth) walk(path, level + 1);
    }
  };
  walk(root, 1);
  return found;
}
