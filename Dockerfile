# One image for the web process (gunicorn, deploy/gunicorn.conf.py), the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext postgresql-client && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DJANGO_DEBUG=1 DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore var -v0 \
    && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0

# The mount points of docker-compose.yml's volumes, so that new volumes belong to kpu too.
RUN useradd --create-home kpu && mkdir -p /app/var/snapshot /app/var/keys /app/var/static /app/var/backups && chown -R kpu /app/var
USER kpu
EXPOSE 8000
ENV GUNICORN_BIND=0.0.0.0:8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "kpuportal.wsgi"]
