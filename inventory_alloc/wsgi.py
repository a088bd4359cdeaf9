"""WSGI entry point (also what Zappa wraps on AWS Lambda)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_alloc.settings")

application = get_wsgi_application()
