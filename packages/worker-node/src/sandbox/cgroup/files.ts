import { mkdir, readFile, readdir, rmdir, writeFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";

/** Small helpers over cgroupfs files; a missing file reads as undefined (the controller is absent). */

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function readNumber(path: string): Promise<number | undefined> {
  const text = await readText(path);
  if (text === undefined) return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** "key value" lines (memory.events, memory.oom_control, pids.events, cpu.stat). */
export async function readKeyed(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await readText(path))?.split("\n") ?? []) {
    const [key, value] = line.split(" ");
    if (key && value !== undefined) out.set(key, Number(value));
  }
  return out;
}

export async function writeValue(path: string, value: string | number): Promise<void> {
  await writeFile(path, String(value));
}

export async function readProcs(dir: string): Promise<number[]> {
  const text = await readText(`${dir}/cgroup.procs`);
  if (!text) return [];
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
}

export async function makeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** Child cgroup names of `dir`. */
export async function childCgroups(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** rmdir, retried while the last exiting tasks leave (EBUSY); a missing dir is fine. */
export async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || attempt >= 100) throw error;
      await delay(10);
    }
  }
}
