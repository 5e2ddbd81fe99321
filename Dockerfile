# syntax=docker/dockerfile:1
# The image of one Tributary service, chosen with the SERVICE build argument. Build from the
# repository root (the context needs the workspace):
#   podman build --build-arg SERVICE=loader --build-arg PORT=8083 -t tributary/loader .
# PORT is the service's default port (ingest-api 8081, transformer 8082, loader 8083, monitor 8080).
# scripts/images builds all four, with local base images when the upstream ones cannot be pulled.
# The build stage compiles every service and does not depend on SERVICE, so the four images
# share its cached layers.

# Build stage: any Debian image with Node 20 and npm.
ARG BUILD_IMAGE=docker.io/library/node:20.20.2-bookworm-slim
# Runtime: distroless-style, node at /nodejs/bin/node, no shell, no package manager, user 65532.
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# A CA bundle for the npm registry behind a TLS-inspecting proxy (mounted by scripts/images); empty: Node's own CAs.
ARG NPM_CAFILE=""
WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY . .
# Dev dependencies of the services and the root (TypeScript), then compile. `npm ci` when the
# lockfile is complete for the registry in use; `npm install --no-save` keeps the locked versions
# when it is not (some registries omit other platforms' optional packages, which `npm ci` rejects).
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    set -eu; \
    if [ -n "${NPM_CAFILE:-}" ]; then export npm_config_cafile="$NPM_CAFILE"; fi; \
    ws="-w packages/contract -w packages/runtime -w packages/warehouse -w packages/archive -w apps/cli -w services/ingest-api -w services/transformer -w services/loader -w services/monitor"; \
    npm ci --ignore-scripts --include-workspace-root --loglevel=error $ws 2>/tmp/npm-ci.log \
      || npm install --ignore-scripts --no-save --include-workspace-root $ws; \
    node_modules/.bin/tsc -b services/ingest-api services/transformer services/loader services/monitor apps/cli

# Production dependencies of this service only (and of the @tributary/* packages it links; the
# loader's image also carries the `tributary` CLI, which runs `migrate` and `backfill`), and
# /app/main.js loading the service, so CMD needs no build argument (exec form cannot expand one).
FROM build AS deps
ARG NPM_CAFILE=""
ARG SERVICE
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    set -eu; \
    case "${SERVICE:-}" in ingest-api | transformer | loader | monitor) ;; \
      *) echo "build with --build-arg SERVICE=<ingest-api|transformer|loader|monitor> (got '${SERVICE:-}')" >&2; exit 2 ;; esac; \
    if [ -n "${NPM_CAFILE:-}" ]; then export npm_config_cafile="$NPM_CAFILE"; fi; \
    rm -rf node_modules packages/*/node_modules apps/*/node_modules services/*/node_modules; \
    ws="-w services/$SERVICE"; apps=""; \
    if [ "$SERVICE" = loader ]; then ws="$ws -w apps/cli"; apps=apps/cli; fi; \
    npm ci --ignore-scripts --omit=dev --loglevel=error $ws 2>/tmp/npm-ci.log \
      || npm install --ignore-scripts --no-save --omit=dev $ws; \
    rm -rf node_modules/.package-lock.json node_modules/.cache; \
    # onnxruntime-node (the transformer's model step; no other service installs it) ships every
    # platform's binaries, ~290 MB: keep this platform's (~45 MB). Its install script never runs.
    for d in node_modules/onnxruntime-node/bin/napi-v*/*/*; do \
      [ -e "$d" ] || continue; \
      case "$d" in */"$(node -p 'process.platform + "/" + process.arch')") ;; *) rm -rf "$d" ;; esac; \
    done; \
    mkdir -p /out/pipelines; \
    for d in . packages/contract packages/runtime packages/warehouse packages/archive $apps "services/$SERVICE"; do \
      mkdir -p /out/$d; \
      if [ -d $d/node_modules ]; then cp -a $d/node_modules /out/$d/; fi; \
      if [ $d != . ]; then cp -a $d/package.json $d/dist /out/$d/; fi; \
      if [ -d $d/bin ]; then cp -a $d/bin /out/$d/; fi; \
      if [ -d $d/web/static ]; then mkdir -p /out/$d/web && cp -a $d/web/static /out/$d/web/; fi; \
    done; \
    cp -a pipelines/. /out/pipelines/; \
    echo "require('./services/$SERVICE/dist/main.js');" > /out/main.js; \
    find /out -name '*.d.ts' -delete -o -name '*.tsbuildinfo' -delete

FROM ${RUNTIME_IMAGE}
ARG SERVICE
# The port the service listens on by default (INGEST_PORT / TRANSFORMER_PORT / LOADER_PORT / MONITOR_PORT).
ARG PORT
WORKDIR /app
# NODE_OPTIONS: a bounded old generation keeps each service well under 200 MB resident at full
# load (docs/PERFORMANCE.md); raise it for pipelines with large in-memory lookup caches.
ENV NODE_ENV=production \
    PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin \
    TRIBUTARY_PIPELINES=/app/pipelines \
    TRIBUTARY_SERVICE=${SERVICE} \
    NODE_OPTIONS=--max-old-space-size=128
LABEL org.opencontainers.image.title="tributary-${SERVICE}"
# node_modules (with links to the workspace packages), compiled code and the example pipelines
# (used when no ConfigMap is mounted at TRIBUTARY_PIPELINES).
COPY --from=deps /out ./
# Nothing is written at run time (pino logs to stdout): the root filesystem can be read-only.
USER 65532:65532
EXPOSE ${PORT}
ENTRYPOINT ["/nodejs/bin/node"]
CMD ["main.js"]
