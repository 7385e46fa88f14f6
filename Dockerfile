# One image for every Warta process; the command picks the process (`warta <service> <process>`).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Pango and fonts for WeasyPrint (the reports' PDF).
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install . && useradd --system --uid 10001 warta && mkdir -p /data && chown warta /data
USER warta
ENV WARTA_LOG_FORMAT=json
ENTRYPOINT ["warta"]
