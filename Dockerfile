# takos-apply for CI systems other than GitHub Actions and for `docker run`.
# Build: docker build -t takos-apply .
# Run:   docker run --rm -v "$PWD:/work" -w /work takos-apply lint
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same script CI and the GitHub Action build with: static (CGO_ENABLED=0),
# -trimpath, version stamped from the VERSION file.
RUN scripts/build.sh /out/takos-apply

# distroless/static: CA certificates, /etc/passwd with a nonroot user, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/takos-apply /usr/local/bin/takos-apply
USER nonroot:nonroot
ENTRYPOINT ["takos-apply"]
