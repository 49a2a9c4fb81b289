# syntax=docker/dockerfile:1
# Build stage: install all dependencies and type-check.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc --noEmit

# Runtime stage: production dependencies only, non-root user.
FROM node:20.20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DO_NOT_TRACK=1
# A font with Cyrillic for the store posters (PDF); without it they are printed in English.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/core ./core
COPY --from=build /app/bots ./bots
COPY --from=build /app/api ./api
COPY --from=build /app/workers ./workers
COPY --from=build /app/infra ./infra
COPY --from=build /app/locales ./locales
COPY --from=build /app/wallet-models ./wallet-models
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/main.ts /app/tsconfig.json ./
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 3000
ENTRYPOINT ["node", "--import", "tsx", "main.ts"]
CMD ["all"]
