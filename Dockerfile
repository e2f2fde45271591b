# dipevents API image. Build: docker build -t dipevents .
# Run:   docker run -p 8000:8000 -e DATABASE_URL=postgresql+psycopg://user:pass@db:5432/dipevents dipevents
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HOST=0.0.0.0 PORT=8000

# Dependencies first, so code changes don't reinstall them.
COPY pyproject.toml /tmp/dipevents/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/dipevents/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# A regular (non-editable) install: migrations, the bundled data and the gazetteer ship inside the package,
# so the source is removed and the server runs from a folder of its own.
COPY . /tmp/dipevents/
RUN pip install --no-deps /tmp/dipevents && rm -rf /tmp/dipevents /tmp/requirements.txt

WORKDIR /srv/dipevents
RUN useradd --system --uid 10001 --home-dir /srv/dipevents dipevents \
    && mkdir -p var && chown -R dipevents var
USER dipevents

EXPOSE 8000
# Migrate, load the bundled data if the database is empty, then serve with uvicorn.
CMD ["dipevents", "serve"]
