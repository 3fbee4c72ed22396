import { readFile } from "node:fs/promises";

/** One line of /proc/self/mountinfo (proc(5)). */
export interface MountEntry {
  /** Root of the mount within its filesystem: for a cgroup mount, the cgroup path it shows. */
  root: string;
  mountPoint: string;
  /** Per-mount options: rw, nosuid, nodev, noatime... */
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** Paths in mountinfo escape space, tab, newline and backslash as \\ooo. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (dash < 0) continue;
    entries.push({
      root: unescapeOctal(fields[3] ?? ""),
      mountPoint: unescapeOctal(fields[4] ?? ""),
      options: (fields[5] ?? "").split(","),
      fsType: fields[dash + 1] ?? "",
      source: unescapeOctal(fields[dash + 2] ?? ""),
      superOptions: (fields[dash + 3] ?? "").split(","),
    });
  }
  return entries;
}

export async function readMountInfo(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
}
