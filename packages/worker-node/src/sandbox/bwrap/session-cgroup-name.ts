import { createHash } from "node:crypto";
import { basename, dirname } from "node:path";

/**
 * A session's cgroup name: `<tag of its base dir>-session-<id>`. Workers with different base dirs
 * (tests running in parallel, two workers on one host) then never sweep each other's sessions.
 */
export function sessionCgroupName(sessionDir: string): string {
  return `${baseDirTag(dirname(sessionDir))}-${basename(sessionDir)}`;
}

/** The prefix of every session cgroup name under `baseDir`: what a sweep of that base dir may remove. */
export function baseDirTag(baseDir: string): string {
  return createHash("sha256").update(baseDir).digest("hex").slice(0, 8);
}
