# crm-classifier API server. Production runs against your PostgreSQL:
#   docker build -t crm-classifier .
#   docker run -p 8000:8000 -e CRMC_DATABASE_URL=postgresql+asyncpg://user:pass@db:5432/crm crm-classifier
# Migrations: `docker run … crm-classifier migrate` once per release (serve refuses an
# outdated database unless started with --migrate).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 CRMC_LOG_JSON=true
RUN useradd --create-home --uid 10001 crmc
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER crmc
WORKDIR /home/crmc
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=2).status == 200 else 1)"
ENTRYPOINT ["crm-classifier"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
