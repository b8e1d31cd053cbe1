# meshscope's image: Node 20, production dependencies only, the TypeScript
# sources run through tsx (the package has no build step). One image for every
# command: the Helm chart runs `analyzer` and `gateway` from it.
# Build: docker build -t REGISTRY/meshscope:0.1.0 .
# (Not built in this repository's CI, which has no Docker engine; test/deploy
# checks that every folder the commands import is copied here and that they
# import no dev dependency.)

FROM node:20-slim AS deps
WORKDIR /app
# better-sqlite3 compiles itself when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY contracts ./contracts
COPY analyzer ./analyzer
COPY lazy-gateway ./lazy-gateway
COPY xds-server ./xds-server
COPY istio-sidecars ./istio-sidecars
COPY fixtures ./fixtures
# The chart runs it as uid 1000 with a read-only root; tsx keeps its cache in /tmp.
USER 1000:1000
EXPOSE 15080 15081 15090 15091 18000
ENTRYPOINT ["node", "bin/meshscope.mjs"]
CMD ["--help"]
