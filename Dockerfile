# syntax=docker/dockerfile:1
# Tollgate: build with the full toolchain, run compiled JavaScript with production dependencies only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm 10.8.2 (Node 20's) can exit 0 from a failed `npm ci` ("Exit handler never called!", npm/cli#7852), leaving
# a partial node_modules; `npm ls --all` exits non-zero on any missing package, so the build stops here instead.
RUN npm ci --no-audit --no-fund && npm ls --all >/dev/null
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node config ./config
# The official image ships an unprivileged "node" user (uid 1000).
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node runs as PID 1 and gets SIGTERM directly; Tollgate handles it by draining, then exits.
CMD ["node", "dist/main.js", "serve"]
