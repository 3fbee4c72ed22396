import { accessSync, constants } from "node:fs";

/**
 * A binary `pnpm build` compiles from native/ (scripts/build-native.sh): its path when it is there and
 * executable, or an error naming it and how to build it.
 */
export function findNativeBinary(path: string, what: string): string {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(`${what} is not built (${path}): run 'pnpm build', which compiles it with cc (apt-get install gcc libc6-dev)`);
  }
}
