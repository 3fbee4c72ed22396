import { fileURLToPath } from "node:url";
import { findNativeBinary } from "../util/native-binary.js";

/**
 * The model relay (native/model-relay.c): inside a delegated agent's sandbox, whose network namespace has
 * loopback only, it listens on 127.0.0.1:RELAY_PORT and relays each connection to the model gateway's unix
 * socket, and runs the agent as its child: `model-relay RELAY_PORT SOCKET -- opencode run ...`. It exits
 * with the agent's status. Built by `pnpm build` (scripts/build-native.sh) next to its source, like the
 * sandbox launcher.
 */
export const RELAY_PATH = fileURLToPath(new URL("../../native/build/model-relay", import.meta.url));

/** Where the relay is bound, read-only, inside the sandbox. */
export const RELAY_IN_SANDBOX = "/run/opencode-worker/model-relay";

/** The loopback port the agent's provider base URL names inside the sandbox. */
export const RELAY_PORT = 4141;

/** The relay's path, or an error that says how to build it. */
export function findRelay(): string {
  return findNativeBinary(RELAY_PATH, "the model relay");
}
