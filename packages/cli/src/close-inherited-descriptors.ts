import { closeSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

/** O_CLOEXEC as /proc/self/fdinfo prints it (octal flags), on x86-64 and arm64 alike. */
const O_CLOEXEC = 0o2000000;

/**
 * Closes the descriptors this process inherited open across exec (beyond stdin, stdout and stderr):
 * a supervisor's pipe, a directory under a root-only path. Node marks only part of its descriptor
 * table close-on-exec, so each would reach every job the worker spawns. The sandbox launcher closes
 * them again for sandboxed jobs; this covers the unsandboxed process driver and everything else the
 * worker starts. Node's own descriptors are all close-on-exec, so they are left alone, and so is the
 * IPC channel of a parent that forked the worker with one. Returns what it closed, for the log.
 */
export function closeInheritedDescriptors(): string[] {
  const ipcChannel = Number(process.env.NODE_CHANNEL_FD ?? -1);
  const closed: string[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd <= 2 || fd === ipcChannel) continue;
    let flags: number;
    let target: string;
    try {
      flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1] ?? "", 8);
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the directory listing's own descriptor, gone by now
    }
    if (Number.isNaN(flags) || (flags & O_CLOEXEC) !== 0) continue;
    closeSync(fd);
    closed.push(`${fd} (${target})`);
  }
  return closed;
}
