# syntax=docker/dockerfile:1
# partnerbot. The build stage installs the project with the same steps as `make` (pip install
# of the project, `pybabel compile` of the catalogs); the runtime stage only copies the result
# and runs as an unprivileged user.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m pip install --upgrade pip && python -m pip install .
COPY flows ./flows
COPY locales ./locales
RUN pybabel compile --domain partnerbot --directory locales --statistics \
    && partnerbot flows check flows --locales locales

FROM python:3.11-slim
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
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
# `partnerbot run --webhook` for webhook mode (see compose.yaml).
CMD ["partnerbot", "run"]
