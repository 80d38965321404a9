# fichier-dav as a container: `serve` on port 8080, state and read cache in volumes, every setting
# by environment (FICHIER_DAV_*, see docs/configuration.md). Example beside Jellyfin:
# docs/docker-compose.example.yml. Build: docker build -t fichier-dav .
#
# NODE_IMAGE is any Debian-based image with Node.js 20 (>= 20.18.1) as `node` on PATH and a
# `node` user (uid 1000), as the official node images have.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, build better-sqlite3's addon, keep only runtime dependencies
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 compiles its addon when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && rm -rf dist/bench \
 && npm prune --omit=dev

# ---- runtime: no compiler, no sources, not root
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    FICHIER_DAV_HOST=0.0.0.0 \
    FICHIER_DAV_PORT=8080 \
    FICHIER_DAV_STATE_DIR=/data/state \
    FICHIER_DAV_CACHE_DIR=/cache \
    FICHIER_DAV_LOG_FORMAT=json \
    XDG_CONFIG_HOME=/config
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY LICENSE README.md ./
RUN mkdir -p /data /cache /config \
 && chown node:node /data /cache \
 && ln -s /app/dist/cli/main.js /usr/local/bin/fichier-dav
USER node
# /data: the account's local state (empty files, properties, API windows); keep it.
# /cache: the read cache of media blocks; may be dropped at any time.
VOLUME ["/data", "/cache"]
EXPOSE 8080
# Liveness on the main port (no authentication, no data): see docs/running-as-a-service.md.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.FICHIER_DAV_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM lets in-flight uploads finish (FICHIER_DAV_SHUTDOWN_GRACE, 30 s): give `docker stop` -t 40.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
