# Two stages: the first builds with every dependency (tsc for the server, esbuild for the
# dashboard, codegen for their typed operations); the second holds the production dependencies
# only and the compiled dist/, and runs as the unprivileged `node` user. `npm run verify:dist`
# runs the second stage's recipe without Docker (CI does, on every change).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json codegen.ts ./
COPY schema ./schema
COPY src ./src
COPY migrations ./migrations
COPY dashboard ./dashboard
COPY scripts ./scripts
# The typed operations of the tests are generated with the dashboard's: their documents only.
COPY test/operations ./test/operations
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Optional packages are the embedded PostgreSQL's binaries and typeorm's optional peers
# (typescript, ts-node): the image always runs on the PostgreSQL of DATABASE_URL.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "dist/src/index.js"]
