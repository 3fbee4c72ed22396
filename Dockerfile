# opencode-worker node. Jobs are sandboxed with bubblewrap, cgroups and per-job uids, which needs
# root in the container and a writable cgroup tree, e.g.:
#   docker run --privileged --cgroupns=host -p 50051:50051 opencode-worker
# (without them the start-up probe reports the isolation it can get and refuses jobs below
# security.min_isolation). Listens on 0.0.0.0 inside the container, so it starts only with TLS and
# authentication (mount them and set e.g. OPENCODE_WORKER_TLS_CERT_FILE, OPENCODE_WORKER_TLS_KEY_FILE and
# OPENCODE_WORKER_AUTH_TOKEN_FILE; see the README's network deployment) or, on a network you trust,
# OPENCODE_WORKER_GRPC_INSECURE=true.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# gcc and libc's static archive compile the sandbox launcher (native/sandbox-launcher.c).
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g pnpm@10.34.9
COPY pnpm-workspace.yaml package.json pnpm-lock.yaml tsconfig.base.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/worker-node/package.json packages/worker-node/
COPY packages/master-client/package.json packages/master-client/
COPY packages/cli/package.json packages/cli/
COPY packages/opencode-plugin/package.json packages/opencode-plugin/
COPY bench/package.json bench/
RUN CI=true pnpm install --frozen-lockfile
COPY packages packages
COPY bench bench
COPY scripts scripts
# The cli package owns the bin; the worker package (with its sandbox launcher) lands in its node_modules.
RUN pnpm build && CI=true pnpm --filter @opencode-worker/cli deploy --prod --legacy /out

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap util-linux ca-certificates slirp4netns iproute2 ripgrep \
 && rm -rf /var/lib/apt/lists/*
# The OpenCode delegated agent tasks run (agent.opencode_dir), the version scripts/setup.sh pins; ripgrep (above)
# serves its grep and glob tools. Providers and their keys are the operator's: mount a providers file and its
# key files and set OPENCODE_WORKER_AGENT_PROVIDERS_FILE (see the README's agent tasks).
RUN mkdir -p /opt/opencode/base \
 && npm install --prefix /opt/opencode/base --no-audit --no-fund --loglevel=error opencode-ai@1.18.33 \
 && chmod -R a+rX /opt/opencode/base
WORKDIR /opt/opencode-worker
COPY --from=build /out ./
ENV OPENCODE_WORKER_GRPC_HOST=0.0.0.0 \
    OPENCODE_WORKER_SESSION_BASE_DIR=/opt/opencode/sessions
EXPOSE 50051
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/bin/opencode-worker.js"]
CMD ["serve"]
