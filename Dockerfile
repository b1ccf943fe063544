# The lineage service. Built by docker-compose.yml; the store comes from LINEAGE_STORE.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY graph ./graph
COPY service ./service
RUN pip install --no-cache-dir --disable-pip-version-check --constraint constraints.txt . \
    && useradd --system --no-create-home lineage

USER lineage
ENV LINEAGE_HOST=0.0.0.0 \
    LINEAGE_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["lineage", "serve"]
