# syntax=docker/dockerfile:1
# One image recipe for every app of this repository. Build once, select the app with a build argument:
#   docker build --build-arg APP=orders -t cqrs-starter/orders .
# APP is one of the application projects of nest-cli.json (monolith, orders, inventory, shipping, ...).
ARG NODE_VERSION=24.22.3

# --- build: install everything, compile every app, keep only production dependencies -----------------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci applies them (postinstall: patch-package)
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npx nest build monolith && npm prune --omit=dev --no-audit --no-fund

# --- runtime: one app, production dependencies, non-root --------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG APP=monolith
ENV NODE_ENV=production \
    PORT=3000 \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/libs ./dist/libs
COPY --from=build /app/dist/apps/${APP} ./dist/apps/${APP}
# A fixed entry point, so that CMD needs no shell to expand APP.
RUN printf "import './apps/%s/src/main.js';\n" "${APP}" > dist/main.js
# The official image's unprivileged `node` user, by id (resolvable on any host); the app files stay root-owned.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
