# syntax=docker/dockerfile:1
# auth-sse production image. Build: docker build -t auth-sse .   Run: see compose.yaml.

# --- build: the browser bundle (public/ssexi*.js) needs esbuild, a devDependency ---------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no postinstall and no `node` devDependency download; the image has Node 24.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts ./scripts
COPY src ./src
COPY public ./public
RUN node scripts/build-client.ts

# --- runtime: production dependencies only, no compilers, no dev tools -------------------------
FROM node:24-slim
ENV NODE_ENV=production \
    DEBUG=false \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=sqlite:////data/app.db \
    NODE_COMPILE_CACHE=/app/node_modules/.cache/node-compile-cache
WORKDIR /app
COPY package.json package-lock.json ./
# bcrypt loads its N-API prebuild at run time, so no install script is needed.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY scripts/warm-compile-cache.ts ./scripts/
COPY --from=build /app/public ./public
# The embedded SQLite default needs a writable place; PostgreSQL deployments never touch it.
RUN mkdir -p /data "$NODE_COMPILE_CACHE" && chown node:node /data "$NODE_COMPILE_CACHE"
# Node's compile cache (README "Docker"): filled by one real start, as the user the server runs as
# (Node keys the cache by user id), then handed to root — every container starts without type
# stripping or compiling, and the server can read the cache but never rewrite the code it loads.
USER node
RUN node scripts/warm-compile-cache.ts
USER root
RUN chown -R root:root "$NODE_COMPILE_CACHE" && chmod -R a+rX "$NODE_COMPILE_CACHE"
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself (a shell would swallow it), so `docker stop`
# ends streams gracefully and clients resume on another replica.
CMD ["node", "src/server.ts"]
