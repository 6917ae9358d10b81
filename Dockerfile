# syntax=docker/dockerfile:1
# partnerbot. The build stage installs the locked dependencies, then the project, with the same
# steps as `make` (pip install from the lock file, `pybabel compile` of the catalogs); the
# runtime stage only copies the result and runs as an unprivileged user.
#
# The base image is pinned by digest: the multi-platform index of python:3.11.15-slim-bookworm
# as recorded by Docker's official-images bookkeeping (github.com/docker-library/repo-info,
# repos/python/remote/3.11.15-slim-bookworm.md at commit 3effc3e). To move to a newer Python,
# take the new tag's index digest from the same place (or `docker buildx imagetools inspect`).
ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm@sha256:d29f48a31a8b408ed19272ca1e7b10ebae13b240a27e862d3d4217c528e2e0c3

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies before the code: exact versions, every file checked against its hash; a change
# to the code reuses this layer instead of reinstalling them.
COPY requirements.lock ./
RUN python -m pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m pip install --no-deps --no-build-isolation .
COPY flows ./flows
COPY locales ./locales
RUN pybabel compile --domain partnerbot --directory locales --statistics \
    && partnerbot flows check flows --locales locales

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    # /healthz and /metrics on 8080 in both modes: the webhook server serves them beside the
    # webhook, and polling mode opens OPS_PORT for them.
    WEBHOOK_PORT=8080 OPS_PORT=8080 LOG_FORMAT=json
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/flows ./flows
COPY --from=build /src/locales ./locales
RUN useradd --create-home --uid 10001 partnerbot && mkdir -p data && chown partnerbot data
USER partnerbot
VOLUME ["/app/data"]
EXPOSE 8080
# Asks /healthz on the ports the container is configured with (WEBHOOK_PORT, OPS_PORT).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.ops.healthcheck"]
STOPSIGNAL SIGTERM
# `partnerbot run --webhook` for webhook mode (see compose.yaml).
CMD ["partnerbot", "run"]
