# The ingest/analytics service (src/ingest). Build: docker build -t obstack-ingest .
# Run:   docker run -e DATABASE_URL=postgres://… -e INGEST_API_KEYS_FILE=/var/run/secrets/ingest/api-keys.json obstack-ingest
# Jobs:  same image, command ["node", "--import", "tsx", "src/ingest/jobs.ts", "rollup"] (or "retention").

# Stage 1: production dependencies only, from the lock file.
FROM node:20.20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Stage 2: type-check the service against the full toolchain, so a broken image is never built.
FROM node:20.20-bookworm-slim AS check
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src/ingest ./src/ingest
RUN npx tsc --noEmit --skipLibCheck --strict --noUncheckedIndexedAccess --module NodeNext --moduleResolution NodeNext \
      --target ES2022 --types node --allowImportingTsExtensions src/ingest/server.ts src/ingest/jobs.ts

# Stage 3: the runtime, without compilers or dev dependencies, as a numeric non-root user
# (runAsNonRoot can only verify a numeric USER).
FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    INGEST_DATA_DIR=/tmp/ingest-data
WORKDIR /app
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --from=check --chown=0:0 /app/src/ingest ./src/ingest
COPY --chown=0:0 package.json tsconfig.json ./
USER 10001:10001
EXPOSE 8080
# The process gets SIGTERM directly (no shell in between), so shutdown commits the queue.
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["src/ingest/server.ts"]
