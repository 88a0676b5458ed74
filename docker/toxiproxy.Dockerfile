# Toxiproxy built from its Go module, exactly as `evchaos infra install` builds it for the local
# backend: one pinned version (chaos/versions.py), from the same source, on every backend.
FROM golang:1.23-alpine AS build
ARG TOXIPROXY_VERSION=v2.12.0
RUN CGO_ENABLED=0 GOBIN=/out go install \
      -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}" \
      "github.com/Shopify/toxiproxy/v2/cmd/server@${TOXIPROXY_VERSION}"

FROM alpine:3.20
COPY --from=build /out/server /usr/local/bin/toxiproxy-server
EXPOSE 8474
ENTRYPOINT ["/usr/local/bin/toxiproxy-server"]
