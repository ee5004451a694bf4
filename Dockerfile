# Multi-stage build of the single motcua binary.
# Build: docker build -t motcua .
# Run:   docker run -p 8080:8080 -v motcua-data:/data -e MOTCUA_PUBLIC_URL=https://dichvucong.example.vn motcua
# Expected image size: debian:bookworm-slim (~75 MB) + the binary (~19 MB) ≈ 100 MB (estimate: no Docker engine here).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY web web
COPY faq faq
COPY data data
COPY benches benches
RUN cargo build --release --locked --bin motcua

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data motcua \
    && mkdir -p /data && chown motcua /data
COPY --from=build /src/target/release/motcua /usr/local/bin/motcua
USER motcua
# Set MOTCUA_PUBLIC_URL to the address citizens use (links in SMS and bot replies).
ENV MOTCUA_DATA_DIR=/data MOTCUA_LISTEN=0.0.0.0:8080 MOTCUA_PUBLIC_URL=http://localhost:8080
VOLUME /data
EXPOSE 8080
CMD ["motcua", "serve"]
