# loyaltyd container image.
#
#   docker build -t loyaltyd .
#   docker run -v loyaltyd-data:/data -v ./loyaltyd.yaml:/etc/loyaltyd/loyaltyd.yaml:ro \
#     -e LOYALTYD_ADMIN_TOKEN=... -p 8380:8380 loyaltyd
#
# The configuration should say `database: /data/loyaltyd.db` and
# `listen: 0.0.0.0:8380`.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# SQLite comes in through cgo; the binary is linked statically so that the
# runtime image needs no C library and no shell.
RUN CGO_ENABLED=1 go build -trimpath \
      -tags 'netgo osusergo sqlite_omit_load_extension' \
      -ldflags "-s -w -X main.version=${VERSION} -linkmode external -extldflags -static" \
      -o /out/loyaltyd ./cmd/loyaltyd \
 && /out/loyaltyd version \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/loyaltyd /usr/local/bin/loyaltyd
COPY --from=build --chown=65532:65532 /out/data /data
ENV LOYALTYD_CONFIG=/etc/loyaltyd/loyaltyd.yaml
WORKDIR /data
VOLUME /data
EXPOSE 8380
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/loyaltyd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/loyaltyd"]
CMD ["run"]
