/**
 * Where a change may be written: a relative path inside the root whose existing parents are all
 * real directories. Read only from the change list and lstat, component by component, so a link
 * the command planted (or one the root already holds) is never followed out of the root.
 */
import { lstat } from "node:fs/promises";

/** The prefix of the SDK's staging directories inside the root: never in a manifest, never written by a change. */
export const STAGING_PREFIX = ".ocw-staging-";

/** Why `path` is not a relative path inside the root, or undefined when it is one. */
export function pathProblem(path: string): string | undefined {
  if (path === "") return "an empty path";
  if (path.includes("\0")) return "a NUL byte in the path";
  if (path.startsWith("/")) return "an absolute path";
  const segments = path.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) return "an empty, `.` or `..` segment";
  // Git's own directory is never sent, and its hooks and config run code: the command may not write it.
  if (segments.includes(".git")) return "a path inside .git";
  if (segments[0]!.startsWith(STAGING_PREFIX)) return "the SDK's staging directory";
  return undefined;
}

/** What lstat says is at `absolutePath`: nothing, a directory, or something else (file, link, special). */
export async function entryKind(absolutePath: string): Promise<"none" | "directory" | "other"> {
  try {
    return (await lstat(absolutePath)).isDirectory() ? "directory" : "other";
  } catch (error) {
    // ENOTDIR: a parent is a file (one this apply deletes; parentProblem refused the others).
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "none";
    throw error;
  }
}

/**
 * Why the parents of `path` (a valid relative path) cannot hold it, or undefined when each one
 * that exists is a real directory. `removed` are paths this apply deletes first: a file there
 * will be gone, so a directory may take its place.
 */
export async function parentProblem(root: string, path: string, removed: ReadonlySet<string>): Promise<string | undefined> {
  const segments = path.split("/");
  for (let depth = 1; depth < segments.length; depth++) {
    const parent = segments.slice(0, depth).join("/");
    const kind = await entryKind(`${root}/${parent}`);
    if (kind === "none" || (kind === "other" && removed.has(parent))) return undefined;
    if (kind === "other") return `\`${parent}\` is a link or a file, not a directory`;
  }
  return undefined;
}
