# partnerbot: the same install steps as `make` (pip install of the project, compiled catalogs).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install .

COPY flows ./flows
COPY locales ./locales
RUN pybabel compile --domain partnerbot --directory locales

RUN useradd --create-home --uid 10001 partnerbot && mkdir -p data && chown partnerbot data
USER partnerbot
VOLUME ["/app/data"]

CMD ["partnerbot", "run"]
