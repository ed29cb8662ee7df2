# One image for the web process, the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN DJANGO_DEBUG=1 python manage.py compilemessages --ignore var -v0 \
    && DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0

RUN useradd --create-home kpu && mkdir -p /app/var && chown -R kpu /app/var
USER kpu
EXPOSE 8000
CMD ["gunicorn", "kpuportal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
