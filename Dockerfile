# recoup's container image (docs/deploy.md): the binary and the shipped
# policies on a small Debian runtime, run as a non-root user.
#
#   docker build -t recoup:0.1 .
#   docker run --rm -v "$PWD/fixtures/demo:/data/ledger:ro" -v /tmp/out:/data/out \
#     -e RECOUP_AS_OF=2026-11-16 recoup:0.1 run --ledger /data/ledger \
#     --policy /opt/recoup/policies/standard --out /data/out/2026-11-16

# --- build: the release binary, from the locked dependencies ---------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The manifest names the benches and tests: they come along (.dockerignore
# leaves out target/, fixtures/, docs/ and the rest).
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY benches benches
COPY tests tests
RUN cargo build --release --locked --bin recoup \
    && strip target/release/recoup

# --- runtime: the binary, the policies, a shell for the scheduled wrapper --
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin recoup
COPY --from=build /src/target/release/recoup /usr/local/bin/recoup
COPY deploy/recoup-scheduled.sh /usr/local/bin/recoup-scheduled
COPY policies /opt/recoup/policies
USER 10001:10001
# The nightly job's settings come from the scheduler (docs/deploy.md):
# RECOUP_AS_OF, RECOUP_LEDGER, RECOUP_POLICY, RECOUP_OUT, RECOUP_THREADS, RECOUP_SHARD.
ENV RECOUP_POLICY=/opt/recoup/policies/standard \
    RECOUP_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/recoup"]
CMD ["--help"]
