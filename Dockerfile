# syntax=docker/dockerfile:1
# takos-apply for CI systems other than GitHub Actions and for `docker run`.
# Build: docker build --build-arg VERSION="$(cat VERSION)" --build-arg COMMIT="$(git rev-parse HEAD)" -t takos-apply .
#        (multi-platform: docker buildx build --platform linux/amd64,linux/arm64 ...)
# Run:   docker run --rm -v "$PWD:/work" -w /work takos-apply lint
#
# Base images are pinned by digest (a tag can be moved to other bytes);
# update a digest with `crane digest IMAGE:TAG` or `docker buildx imagetools
# inspect IMAGE:TAG`, together with its tag.

# The build stage runs on the builder's own platform and cross-compiles
# (Go needs no emulation for that), so an arm64 image builds at native speed.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm@sha256:b305420a68d0f229d91eb3b3ed9e519fcf2cf5461da4bef997bf927e8c0bfd2b AS build
ARG TARGETOS
ARG TARGETARCH
ARG COMMIT=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same script CI, the release and the GitHub Action build with: static
# (CGO_ENABLED=0), -trimpath, version from the VERSION file. .dockerignore
# keeps .git out of the context, so the commit comes in as a build argument.
RUN GOOS="$TARGETOS" GOARCH="$TARGETARCH" TAKOS_APPLY_INSTALLER=docker TAKOS_APPLY_COMMIT="$COMMIT" \
    scripts/build.sh /out/takos-apply

# distroless/static: CA certificates, /etc/passwd with a nonroot user, no shell.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
ARG VERSION=""
ARG COMMIT=""
LABEL org.opencontainers.image.title="takos-apply" \
      org.opencontainers.image.description="Validate .takos/app.yml and create or update its Takos OAuth client" \
      org.opencontainers.image.source="https://github.com/takos-dev/takos-apply" \
      org.opencontainers.image.url="https://github.com/takos-dev/takos-apply" \
      org.opencontainers.image.documentation="https://github.com/takos-dev/takos-apply#docker" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$COMMIT"
COPY --from=build /out/takos-apply /usr/local/bin/takos-apply
USER nonroot:nonroot
ENTRYPOINT ["takos-apply"]
