import { closeSync, constants, mkdirSync, openSync } from "node:fs";

/**
 * `levels` directories named `name` nested under `parent`, built through descriptors since the path
 * may be longer than PATH_MAX; `atEachLevel` fills each one through the path of its descriptor
 * (`/proc/self/fd/N`). Returns the path of the deepest one relative to `parent`.
 */
export function nestDirectories(
  parent: string,
  name: string,
  levels: number,
  atEachLevel: (dir: string, level: number) => void = () => {},
): string {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY;
  let fd = openSync(parent, flags);
  try {
    for (let level = 0; level < levels; level++) {
      mkdirSync(`/proc/self/fd/${fd}/${name}`);
      const child = openSync(`/proc/self/fd/${fd}/${name}`, flags);
      closeSync(fd);
      fd = child;
      atEachLevel(`/proc/self/fd/${fd}`, level);
    }
  } finally {
    closeSync(fd);
  }
  return Array.from({ length: levels }, () => name).join("/");
}
