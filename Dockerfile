FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Dev dependencies stay: the server runs TypeScript through ts-node (transpile-only).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
COPY schema ./schema
EXPOSE 4000
USER node
CMD ["node", "-r", "ts-node/register/transpile-only", "src/index.ts"]
