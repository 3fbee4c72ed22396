import type { OpencodeInstall } from "./opencode-install.js";
import type { Providers } from "./providers.js";

/**
 * What this worker runs agent tasks with, found once at start-up: the OpenCode installation and the model
 * providers of agent.providers_file. Or why it runs none, with the fix, which a task is refused with.
 */
export type AgentRuntime = { readonly install: OpencodeInstall; readonly providers: Providers } | { readonly refusal: string };
