# dipevents API image. Build: docker build -t dipevents .
# Run:   docker run -p 8000:8000 -e DATABASE_URL=postgresql+psycopg://user:pass@db:5432/dipevents dipevents
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 PORT=8000
WORKDIR /srv/dipevents

# Dependencies first, so code changes don't reinstall them.
COPY pyproject.toml README.md ./
COPY app/__init__.py app/__init__.py
RUN pip install -e .

COPY . .
RUN useradd --system --uid 10001 --home-dir /srv/dipevents dipevents \
    && mkdir -p var && chown -R dipevents var
USER dipevents

EXPOSE 8000
# Migrate, load the bundled data if the database is empty, then serve with uvicorn.
CMD ["dipevents", "serve"]
