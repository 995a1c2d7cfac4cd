# syntax=docker/dockerfile:1
#
# statusmate-exporter container image.
#
#   docker build -t statusmate-exporter --build-arg BUILD_REVISION="$(git rev-parse HEAD)" .
#   docker run -p 9877:9877 -e WEBHOOK_TOKEN=change-me -v statusmate-data:/data statusmate-exporter
#
# Two stages: the build stage has the compiler toolchain better-sqlite3 needs and the dev
# dependencies (TypeScript); the runtime stage holds only Node, the compiled JavaScript and the
# production dependencies, runs as an unprivileged numeric user and can write to /data only.
# test/docker-build-steps.test.ts replays the npm steps and the runtime COPYs of this file
# outside Docker, so keep its instructions in the simple forms that test understands.

# Both bases are Debian 12 (bookworm) with Node 24, the active LTS (Node 20 reached end of life
# on 2026-04-30), so the addon compiled in the build stage links against the same glibc and Node
# ABI it loads in at run time. Pin them by digest in release pipelines.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# better-sqlite3 falls back to compiling SQLite with node-gyp when no prebuilt binary matches.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The manifests first, so the dependency layer is cached until they change; npm ci also compiles
# the exporter's own malloc addon (binding.gyp, native/, by tools/build-native.mjs).
COPY package.json package-lock.json binding.gyp ./
COPY native ./native
COPY tools/build-native.mjs ./tools/build-native.mjs
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# Drop the dev dependencies but keep the addon compiled above (npm ci --omit=dev would compile it again).
RUN npm prune --omit=dev --no-audit --no-fund
# The addon's sources and intermediate objects are not needed to load it.
RUN rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
    node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
    node_modules/better-sqlite3/build/Release/test_extension.node
# The runtime image has no shell to create /data, so it arrives as a copied directory; copying
# the parent makes --chown apply to the directory itself.
RUN mkdir -p rootfs/data

FROM ${RUNTIME_IMAGE}
ARG BUILD_REVISION=unknown
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="statusmate-exporter" \
      org.opencontainers.image.description="Prometheus exporter for StatusMate status pages: webhooks in, durable state, metrics out" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/statusmate-exporter/statusmate-exporter" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${BUILD_REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=9877 \
    SQLITE_PATH=/data/statusmate-exporter.db \
    BUILD_REVISION=${BUILD_REVISION}
WORKDIR /app
# package.json stays: its "type": "module" makes Node load dist/*.js as ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The malloc addon alone (src/native-malloc.ts): the exporter loads it from build/Release.
COPY --from=build /app/build/Release/statusmate_malloc.node ./build/Release/statusmate_malloc.node
COPY --from=build --chown=65532:65532 /app/rootfs/ /
# 65532 is distroless' "nonroot"; numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
VOLUME ["/data"]
EXPOSE 9877
# Node runs as PID 1 and handles SIGTERM itself (closes HTTP, then the store).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/nodejs/bin/node"]
# The same node flags as `npm start` (package.json); a test keeps the two equal. A young generation
# of 4 MiB semi-spaces instead of 16 keeps about 20 MiB of RSS that V8 otherwise holds after a burst.
# An old space of half the memory limit (Node reads the container's) leaves the other half to
# buffers, SQLite and the process: Node's own default, about two thirds, let the heap grow until the
# kernel killed the pod under the chart's 384Mi (bench section 8).
CMD ["--max-semi-space-size=4", "--max-old-space-size-percentage=50", "dist/main.js"]
