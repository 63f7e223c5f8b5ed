# syntax=docker/dockerfile:1
#
# One image recipe for every Node app of Conveyor. Pick the app with the build arg APP, the
# workspace path of the app:
#
#   docker build --build-arg APP=services/payment -t conveyor/payment .
#   docker build --build-arg APP=gateway -t conveyor/gateway .      # also builds the dashboard
#
# Node 24 runs the TypeScript sources as they are (type stripping), so there is no compile step:
# the image holds the sources, the production dependencies of the app, and nothing else.
# e2e/deploy/dockerfile.test.ts replays the prod-deps and runtime stages below without Docker;
# keep the `npm ci --omit=dev` line, the plain COPY lines of the runtime stage, WORKDIR and CMD
# in the simple forms it reads.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- base: the official Node 24 image, npm quiet ---------------------------------------------
FROM ${NODE_IMAGE} AS base
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# ---- manifests: only the lockfile and the package.json files --------------------------------
# Copying these alone into the install stages keeps their `npm ci` layers cached until a
# dependency changes, whatever happens to the sources.
FROM base AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o \( -name package.json -o -name package-lock.json -o -name .npmrc \) -type f -print \
    | xargs cp --parents -t /manifests

# ---- prod-deps: production dependencies of the app (and of the telemetry bootstrap) ---------
# --include-workspace-root=false keeps the root devDependencies (the `node` package that pins
# Node 24 for npm scripts, vitest, biome, typescript) out of the image; --ignore-scripts because
# no production dependency needs an install script.
FROM base AS prod-deps
ARG APP
WORKDIR /app
RUN test -n "${APP}" || { echo "set the build arg APP, e.g. --build-arg APP=services/payment" >&2; exit 1; }
COPY --from=manifests /manifests ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --workspace "${APP}" --workspace observability/telemetry --include-workspace-root=false --ignore-scripts

# ---- web: the dashboard, built for the gateway only (an empty web/dist for the others) ------
FROM base AS web
ARG APP
WORKDIR /app
COPY --from=manifests /manifests ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    if [ "${APP}" = "gateway" ] && [ -f web/package.json ]; then \
      npm ci --workspace web --include-workspace-root=false; \
    fi
COPY . .
# Built when the dashboard has an entry page (vite's index.html); a build that fails fails the image.
RUN mkdir -p web/dist \
 && if [ "${APP}" = "gateway" ] && [ -f web/index.html ]; then npm run build --workspace web; fi

# ---- runtime: what runs ---------------------------------------------------------------------
FROM base AS runtime
ARG APP
# tini is PID 1: it forwards SIGTERM to node (which then drains its in-flight work) and reaps
# zombies. Debian's tini is about 1 MB.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    CONVEYOR_APP=${APP}
WORKDIR /app
COPY --from=prod-deps /app ./
# The sources: the root package.json (read for the service version), the shared packages, the
# telemetry bootstrap and the app itself. Tests, docs and tooling are left out by .dockerignore.
COPY package.json ./
COPY services ./services
COPY observability/telemetry ./observability/telemetry
COPY ${APP} ./${APP}
COPY --from=web /app/web/dist ./web/dist
WORKDIR /app/${APP}
# Files stay owned by root (read-only for the app); the process runs as the image's `node` user.
USER node
# The port defaults mirror the apps' env schemas (e2e/deploy/compose.test.ts checks them);
# HEALTH_PORT or PORT, when set, win. No curl in the slim image: Node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const port = process.env.HEALTH_PORT || process.env.PORT || {'gateway': 4000, 'services/inventory': 4101, 'services/payment': 4102, 'services/shipment': 4103}[process.env.CONVEYOR_APP]; fetch('http://127.0.0.1:' + port + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "@conveyor/telemetry/register", "src/main.ts"]
