# pathtrace: the service as compiled JavaScript on Node 20, without dev dependencies, as an unprivileged user.
#   docker build -t pathtrace:0.1.0 .
#   docker run -p 8080:8080 -e AUTH_TOKENS='ops:write:<a token of 16+ characters>' -v pathtrace-data:/data pathtrace:0.1.0
# Off loopback the service refuses to start without authentication: give AUTH_TOKENS, OIDC_ISSUER, or AUTH_DISABLED=true.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The build also makes the embedded database's template folder (dist/pglite-template), migrated with these files.
COPY migrations ./migrations
RUN npm run build

FROM node:20-bookworm-slim AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
COPY public ./public
# The contract, served at /openapi.yaml.
COPY openapi.yaml ./
# The embedded database's folder, for a single replica without DATABASE_URL.
RUN mkdir /data && chown 1000:1000 /data
VOLUME /data
USER 1000:1000
EXPOSE 8080
CMD ["node", "dist/server.js"]
