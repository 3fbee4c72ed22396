import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { createInterface } from "node:readline";

/**
 * mount(2) and umount2(2) without a process per call. Node cannot make these syscalls, and
 * spawning mount(8) and umount(8) from the worker costs about 11 ms each here: a third of a
 * sandboxed job's start-up. One long-lived perl process (perl-base is essential on Debian and
 * Ubuntu) makes the syscalls instead, for about 0.1 ms a pair. The program is fixed; its only input
 * is a line per request from the worker itself. It exits when the worker closes its stdin (or dies).
 * Where perl or the syscall numbers are missing, callers fall back to mount(8).
 */

/** Thrown when the helper cannot serve a request at all; the caller falls back to mount(8). */
export class MountHelperUnavailable extends Error {
  override readonly name = "MountHelperUnavailable";
}

const SYSCALLS: Partial<Record<string, { mount: number; umount2: number }>> = {
  x64: { mount: 165, umount2: 166 },
  arm64: { mount: 40, umount2: 39 },
};

/** mount(2) flags (linux/mount.h). */
export const MS = { RDONLY: 1, NOSUID: 2, NODEV: 4, REMOUNT: 32, NOATIME: 1024, BIND: 4096 } as const;
export const TMPFS_FLAGS = MS.NOSUID | MS.NODEV | MS.NOATIME;
const MNT_DETACH = 2;

function program(mount: number, umount2: number): string {
  // syscall() passes numbers as numbers and strings as char*; literals are read-only, hence the copies.
  return [
    "$| = 1;",
    "while (my $line = <STDIN>) {",
    "  chomp $line;",
    "  my ($op, $target, $arg, $data, $source, $fstype) = split /\\t/, $line, 6;",
    `  my $r = $op eq "M" ? syscall(${mount}, $source, $target, $fstype, $arg + 0, $data)`,
    `        : $op eq "U" ? syscall(${umount2}, $target, $arg + 0) : -2;`,
    '  print $r == 0 ? "OK\\n" : "ERR " . ($! + 0) . "\\n";',
    "}",
  ].join("\n");
}

interface Ref {
  ref(): void;
  unref(): void;
}

export class MountHelper {
  private readonly child: ChildProcess;
  private readonly waiting: Array<(reply: string | undefined) => void> = [];
  private dead = false;

  private constructor(mount: number, umount2: number) {
    this.child = spawn("/usr/bin/perl", ["-e", program(mount, umount2)], {
      env: {},
      cwd: "/",
      stdio: ["pipe", "pipe", "ignore"],
    });
    const fail = (): void => {
      this.dead = true;
      for (const resolve of this.waiting.splice(0)) resolve(undefined);
    };
    this.child.once("error", fail);
    this.child.once("exit", fail);
    this.child.stdin?.on("error", fail);
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      this.waiting.shift()?.(line);
      if (this.waiting.length === 0) this.idle(true);
    });
    this.child.unref();
    this.idle(true);
  }

  /** The helper, or undefined where this platform has no perl or no known syscall numbers. */
  static start(): MountHelper | undefined {
    const numbers = SYSCALLS[process.arch];
    if (!numbers || process.platform !== "linux" || !existsSync("/usr/bin/perl")) return undefined;
    return new MountHelper(numbers.mount, numbers.umount2);
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** An idle helper must not keep the worker's event loop alive. */
  private idle(idle: boolean): void {
    for (const stream of [this.child.stdin, this.child.stdout]) {
      const handle = stream as unknown as Partial<Ref> | null;
      if (idle) handle?.unref?.();
      else handle?.ref?.();
    }
  }

  private async request(fields: string[]): Promise<void> {
    if (fields.some((f) => /[\t\n\0]/.test(f))) throw new MountHelperUnavailable("path not expressible in the helper's protocol");
    if (this.dead) throw new MountHelperUnavailable("mount helper is not running");
    const reply = await new Promise<string | undefined>((resolve) => {
      this.waiting.push(resolve);
      this.idle(false);
      this.child.stdin?.write(`${fields.join("\t")}\n`);
    });
    if (reply === undefined) throw new MountHelperUnavailable("mount helper exited");
    if (reply === "OK") return;
    const errno = Number(reply.split(" ")[1]);
    const code = Object.entries(osConstants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
    throw Object.assign(new Error(`${fields[0] === "M" ? "mount" : "umount"} ${fields[1]}: ${code}`), { code, errno });
  }

  /** mount(2) as is: `fstype` and `data` may be "" (a bind or a remount ignores them). */
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
    return this.request(["M", target, String(flags), data, source, fstype]);
  }

  /** mount -t tmpfs -o <data> with TMPFS_FLAGS; the source names the mount for the sweep. */
  mountTmpfs(source: string, target: string, data: string): Promise<void> {
    return this.mount(source, target, "tmpfs", TMPFS_FLAGS, data);
  }

  umount(target: string, lazy = false): Promise<void> {
    return this.request(["U", target, String(lazy ? MNT_DETACH : 0)]);
  }

  close(): void {
    this.child.stdin?.end();
  }
}
